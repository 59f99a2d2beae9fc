"""Figures drawn from stored products (run files, fit tables, SDE files).

Each figure function draws, computes nothing beyond binning, and returns the
``matplotlib.figure.Figure``; :func:`save_figure` writes it as PNG and PDF atomically.
"""

from sgdspectra.plotting.check import plot_stationary_check
from sgdspectra.plotting.esd import plot_esd_evolution
from sgdspectra.plotting.fits import plot_stationary_fits
from sgdspectra.plotting.forecast import plot_dynamics_terms, plot_forecast_skill, plot_forecast_top, plot_increment_regression
from sgdspectra.plotting.kinds import plot_alpha_spikes, plot_kind_evolution
from sgdspectra.plotting.levels import plot_sde_levels
from sgdspectra.plotting.repulsion import plot_repulsion
from sgdspectra.plotting.sde import plot_sde_vs_observed
from sgdspectra.plotting.style import STYLE, figure_style, save_figure
from sgdspectra.plotting.sweep import plot_temperature_sweep
from sgdspectra.plotting.trajectories import plot_sv_trajectories
from sgdspectra.plotting.training import plot_training_curves

__all__ = [
    "STYLE",
    "plot_alpha_spikes",
    "plot_dynamics_terms",
    "plot_forecast_skill",
    "plot_forecast_top",
    "plot_increment_regression",
    "plot_kind_evolution",
    "figure_style",
    "plot_esd_evolution",
    "plot_repulsion",
    "plot_sde_levels",
    "plot_stationary_check",
    "plot_sde_vs_observed",
    "plot_stationary_fits",
    "plot_sv_trajectories",
    "plot_temperature_sweep",
    "plot_training_curves",
    "save_figure",
]

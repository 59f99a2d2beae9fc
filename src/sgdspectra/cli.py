"""Command line: ``sgdspectra --help``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["main", "config_keys_markdown"]


def config_keys_markdown() -> str:
    """A Markdown table of every config key with its type, default and description."""
    from .config import iter_schema_keys, load_schema

    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, sub in iter_schema_keys(load_schema()):
        typ = sub.get("type", "")
        typ = " or ".join(typ) if isinstance(typ, list) else typ
        default = json.dumps(sub.get("default")) if "default" in sub else ""
        desc = " ".join(str(sub.get("description", "")).split())
        lines.append(f"| `{key}` | {typ} | `{default}` | {desc} |")
    return "\n".join(lines)


def _cmd_validate(args: argparse.Namespace) -> int:
    import yaml

    from .config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(yaml.safe_dump(cfg, sort_keys=False) if args.show else f"{args.config}: valid")
    return 0


def _cmd_config_keys(args: argparse.Namespace) -> int:
    print(config_keys_markdown())
    return 0


def _cmd_summary(args: argparse.Namespace) -> int:
    import numpy as np

    from .io import read_dataset

    try:
        ds = read_dataset(args.run)
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.run}: {exc}", file=sys.stderr)
        return 2
    print(f"{args.run}: model {ds.attrs.get('model', '?')}, seed {ds.attrs.get('seed', '?')}, "
          f"status {ds.attrs.get('status', '?')}, {ds.sizes['step']} snapshots "
          f"(steps {int(ds.step[0])}..{int(ds.step[-1])})")
    last = ds.isel(step=-1)
    if "val_loss" in ds:
        print(f"final step {int(last.step)}: train loss {float(last.train_loss):.4g}, validation loss "
              f"{float(last.val_loss):.4g}, validation accuracy {float(last.val_accuracy):.4g}")
    width = max(6, *(len(str(m)) for m in ds.matrix.values))
    print(f"{'matrix':<{width}} {'kind':<11} {'shape':>10} {'sigma_max':>10} {'stable_rank':>12}")
    for j, name in enumerate(ds.matrix.values):
        sigma = last.sigma.values[j]
        sigma = sigma[np.isfinite(sigma)]
        lam = sigma**2
        stable = float(lam.sum() / lam.max()) if lam.size and lam.max() > 0 else float("nan")
        shape = f"{int(ds.n_rows[j])}x{int(ds.n_cols[j])}"
        kind = str(ds.kind.values[j]) if "kind" in ds.coords else ""
        print(f"{str(name):<{width}} {kind:<11} {shape:>10} {sigma.max():>10.4g} {stable:>12.4g}")
    return 0


def _cmd_analyze(args: argparse.Namespace) -> int:
    from .analyze import AnalyzeError, analyze_file, format_table, write_csv

    progress = not args.quiet and sys.stderr.isatty()
    try:
        result = analyze_file(args.checkpoint, trust_pickle=args.trust_pickle,
                              min_tail=args.min_tail, min_evals=args.min_evals, progress=progress)
    except AnalyzeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.csv:
        write_csv(result, args.csv)
    print(result.to_json() if args.json else format_table(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sgdspectra",
        description="Test the SGD-to-spectra theory: the workflow (snakemake) trains networks and "
        "records their weight spectra; this command inspects configs and products.",
    )
    parser.add_argument("--version", action="version", version=f"sgdspectra {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("validate-config", help="check a workflow config against the schema")
    p.add_argument("config", help="YAML config file")
    p.add_argument("--show", action="store_true", help="print the config with defaults filled in")
    p.set_defaults(func=_cmd_validate)
    p = sub.add_parser("config-keys", help="print every config key as a Markdown table")
    p.set_defaults(func=_cmd_config_keys)
    p = sub.add_parser("summary", help="summarise a run file (results/runs/<model>/seed<k>/spectra.nc)")
    p.add_argument("run", help="run netCDF file")
    p.set_defaults(func=_cmd_summary)
    p = sub.add_parser("analyze", help="spectra and fits (alpha, MP, stationary laws) of every "
                       "2-D weight in a PyTorch checkpoint/state_dict or .safetensors file")
    p.add_argument("checkpoint", help="checkpoint file (.pt/.pth/.bin, or .safetensors)")
    p.add_argument("--json", action="store_true", help="print JSON {layers, skipped} instead")
    p.add_argument("--csv", metavar="PATH", help="also write the layer table as CSV")
    p.add_argument("--trust-pickle", action="store_true",
                   help="allow arbitrary unpickling (runs code from the file: trusted files only)")
    p.add_argument("--min-tail", type=int, default=10, help="smallest power-law tail (default 10)")
    p.add_argument("--min-evals", type=int, default=10,
                   help="skip matrices with fewer singular values (default 10)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_analyze)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # e.g. `sgdspectra validate-config x.yaml --show | head`
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

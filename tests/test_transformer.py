"""GPT and ViT: shapes, causal masking, the Q/K/V split, and that every 2-D parameter is analysed."""

import numpy as np
import pytest
import torch

from sgdspectra.architecture import matrix_layout
from sgdspectra.config import ModelConfig, validate_config
from sgdspectra.models import build_model
from sgdspectra.recording import analysed_matrices
from sgdspectra.transformer import GPT, ViT, qkv_blocks


def gpt(**kw):
    args = dict(vocab_size=20, block_size=16, n_layer=2, n_head=4, n_embd=32)
    args.update(kw)
    torch.manual_seed(0)
    return GPT(**args).eval()


def test_gpt_shapes():
    model = gpt()
    idx = torch.randint(0, 20, (3, 16))
    assert model(idx).shape == (3, 16, 20)
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_gpt_is_causal():
    model = gpt()
    idx = torch.randint(0, 20, (2, 16))
    changed = idx.clone()
    changed[:, 10] = (changed[:, 10] + 1) % 20  # change a future token
    a, b = model(idx), model(changed)
    torch.testing.assert_close(a[:, :10], b[:, :10], rtol=0, atol=0)
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_vit_shapes_and_patchify_is_a_permutation():
    torch.manual_seed(0)
    model = ViT(image_size=8, channels=1, patch_size=2, n_classes=10, n_layer=2, n_head=4, n_embd=32).eval()
    x = torch.randn(5, 64)
    assert model(x).shape == (5, 10)
    patches = model.patchify(x)
    assert patches.shape == (5, 16, 4)
    torch.testing.assert_close(torch.sort(patches.reshape(5, -1), dim=1).values, torch.sort(x, dim=1).values)
    # patch (0, 0) holds pixels (0,0), (0,1), (1,0), (1,1) of the 8x8 image
    img = x.reshape(5, 8, 8)
    torch.testing.assert_close(patches[:, 0], img[:, :2, :2].reshape(5, 4))


def test_qkv_split_reproduces_fused_matrix_exactly():
    model = gpt()
    fused = model.blocks[0].attn.qkv.weight
    parts = {kind: w for _, kind, w in qkv_blocks(fused, n_head=4, split_heads=True)}
    torch.testing.assert_close(torch.cat([parts["attn_q"], parts["attn_k"], parts["attn_v"]]), fused, rtol=0, atol=0)
    heads = [w for name, kind, w in qkv_blocks(fused, 4, True) if name.startswith("k.head")]
    torch.testing.assert_close(torch.cat(heads), parts["attn_k"], rtol=0, atol=0)
    # The split matches what attention uses: q = x W_Q^T
    x = torch.randn(3, 32)
    q = model.blocks[0].attn.qkv(x)[:, :32] - model.blocks[0].attn.qkv.bias[:32]
    torch.testing.assert_close(q, x @ parts["attn_q"].T)


def covered_parameters(model):
    """ids of the parameters whose every entry appears in some analysed matrix."""
    covered = {}
    for _, _, w in analysed_matrices(model):
        base = w._base if w._base is not None else w
        covered.setdefault(id(base), 0)
        covered[id(base)] += w.numel()
    return covered


@pytest.mark.parametrize("arch, data", [("gpt", "pydoc"), ("vit", "digits"), ("mlp", "digits")])
@pytest.mark.parametrize("split_heads, tie", [(False, True), (True, False)])
def test_every_2d_parameter_is_analysed_and_layout_matches(arch, data, split_heads, tie):
    spec = {"architecture": arch, "data": {"name": data}, "hidden": [16],
            "transformer": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 8, "split_heads": split_heads,
                            "tie_weights": tie}}
    cfg = ModelConfig.from_dict("m", spec)
    model = build_model(cfg, 0, vocab_size=11)
    got = [(name, kind) for name, kind, _ in analysed_matrices(model)]
    assert got == matrix_layout(validate_config({"models": {"m": spec}})["models"]["m"])
    assert len({name for name, _ in got}) == len(got)
    covered = covered_parameters(model)
    for name, p in model.named_parameters():
        if p.ndim == 2:
            assert covered.get(id(p), 0) >= p.numel(), f"2-D parameter {name} is not analysed"


def test_gpt_weight_tying_analyses_the_shared_matrix_once():
    model = gpt(tie_weights=True)
    names = [n for n, _, _ in model.weight_matrices()]
    assert "head" not in names and model.head.weight is model.tok_emb.weight
    untied = gpt(tie_weights=False)
    assert "head" in [n for n, _, _ in untied.weight_matrices()]


def test_semantic_config_errors_name_the_key():
    from sgdspectra.config import ConfigError

    with pytest.raises(ConfigError, match="models.g.data.name"):
        validate_config({"models": {"g": {"architecture": "gpt", "data": {"name": "digits"}}}})
    with pytest.raises(ConfigError, match="models.v.transformer.n_head"):
        validate_config({"models": {"v": {"architecture": "vit", "transformer": {"n_head": 3, "n_embd": 16}}}})
    with pytest.raises(ConfigError, match="models.t.data.path"):
        validate_config({"models": {"t": {"architecture": "gpt", "data": {"name": "text_file"}}}})


def test_warmup_cosine_schedule_and_decay_groups():
    from sgdspectra.config import TrainConfig
    from sgdspectra.training import lr_multiplier, param_groups

    cfg = TrainConfig(steps=100, schedule="warmup_cosine", warmup_steps=10, min_lr_ratio=0.1, weight_decay=0.1,
                      weight_decay_2d_only=True)
    mult = np.array([lr_multiplier(cfg, k) for k in range(100)])
    np.testing.assert_allclose(mult[:10], np.arange(1, 11) / 10)
    assert np.all(np.diff(mult[10:]) <= 1e-12) and mult[-1] > 0.1 and abs(lr_multiplier(cfg, 100) - 0.1) < 1e-12
    groups = param_groups(gpt(), cfg)
    assert all(p.ndim >= 2 for p in groups[0]["params"]) and all(p.ndim < 2 for p in groups[1]["params"])
    assert groups[1]["weight_decay"] == 0.0


def test_gpt_learns_pydoc_text_and_every_matrix_is_in_the_run_file(tmp_path):
    from sgdspectra.io import read_dataset
    from sgdspectra.train import train_and_record

    spec = {"architecture": "gpt", "data": {"name": "pydoc", "val_fraction": 0.1},
            "transformer": {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32},
            "train": {"steps": 80, "batch_size": 16, "lr": 0.3, "momentum": 0.9, "grad_clip": 1.0, "eval_windows": 16},
            "snapshots": {"log_points": 2, "log_until": 10, "every": 40}}
    cfg = ModelConfig.from_dict("g", spec)
    train_and_record(cfg, 0, tmp_path / "run.nc")
    ds = read_dataset(tmp_path / "run.nc")
    uniform = np.log(int(ds.attrs["vocab_size"]))
    assert abs(ds.val_loss.values[0] - uniform) < 0.5  # a fresh model guesses about uniformly
    assert ds.val_loss.values[-1] < uniform - 0.5      # and learns the character statistics
    expected = [n for n, _ in matrix_layout(validate_config({"models": {"g": spec}})["models"]["g"])]
    assert [str(m) for m in ds.matrix.values] == expected
    assert set(map(str, ds.kind.values)) == {"embed", "pos_embed", "attn_q", "attn_k", "attn_v", "attn_o",
                                             "mlp_in", "mlp_out"}

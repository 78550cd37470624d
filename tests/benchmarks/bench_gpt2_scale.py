"""A GPT-2-small-sized checkpoint folder, loaded and stepped through: load time, memory, laziness.

:func:`gpt2_scale_figures` writes a Hugging Face style GPT-2 folder with random weights of GPT-2
small's shape (124 M parameters, hub tensor names, ``model.safetensors`` written with NumPy and
safetensors, no torch) into a temporary folder, then measures in a fresh Python process, so
that the memory figures belong to loading alone:

* ``load_seconds``: ``simulator.load(folder)`` (target under 5 s);
* ``rss_after_load_mb`` / ``peak_rss_during_load_mb``: resident memory (target under 1.5 GB);
* ``cold_step_ms``: from an empty stage cache, a new trace and one read of the given stage,
  i.e. jumping straight to any stage of any layer, with the number of stages that had to be
  computed (only those the stage needs). Jumping to layer 11 runs 11 layers, so it is the
  slowest step; ``step_forward_one_stage_ms`` is stepping through the pass stage by stage and
  ``revisit_cached_stage_ms`` going back to a stage already seen (target for a step: 200 ms);
* ``after_edit``: one weight of layer 0 is edited, then ``blocks.11.attn.pattern`` is read
  again; the stages recomputed are exactly those between the edit and that view;
* ``peak_rss_mb``: the process's peak resident memory over all of the above;
* ``window`` (with ``--window``, in another fresh process): the app's main window opened on the
  same folder, shown, stepped through every stage of layer 0 and to the last stage, with a
  weight edit: seconds to the shown window and the process's peak resident memory.

    python -m tests.benchmarks.bench_gpt2_scale          # prints the figures as JSON
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

#: GPT-2 small (the hub's ``gpt2``): 124,439,808 parameters with the tied unembedding.
CONFIG = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "activation_function": "gelu_new",
    "n_embd": 768,
    "n_head": 12,
    "n_layer": 12,
    "n_inner": None,
    "n_positions": 1024,
    "vocab_size": 50257,
    "layer_norm_epsilon": 1e-5,
    "tie_word_embeddings": True,
}
TOKENS = 64
LOAD_TARGET_S = 5.0
RSS_TARGET_MB = 1536.0
STEP_TARGET_MS = 200.0
COLD_STAGES = (
    "embed",
    "blocks.0.attn.pattern",
    "blocks.0.resid_post",
    "blocks.5.mlp.post",
    "blocks.11.attn.q",
    "blocks.11.attn.pattern",
    "blocks.11.resid_post",
    "ln_final",
    "logits",
    "probs",
)
EDITED_PARAM = "blocks.0.attn.W_Q"
VIEWED_STAGE = "blocks.11.attn.pattern"


def write_checkpoint(folder: Path, seed: int = 0) -> int:
    """Write config.json, model.safetensors (hub names, with the hub's mask buffers) and a tokenizer.

    Returns the number of parameters. The tokenizer is a byte-level BPE of GPT-2's size written
    as ``vocab.json`` + ``merges.txt`` (see :func:`write_tokenizer`).
    """
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    d, v, n_ctx, layers = CONFIG["n_embd"], CONFIG["vocab_size"], CONFIG["n_positions"], CONFIG["n_layer"]
    m = 4 * d

    def normal(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)

    tensors: dict[str, np.ndarray] = {"wte.weight": normal(v, d), "wpe.weight": normal(n_ctx, d)}
    for layer in range(layers):
        p = f"h.{layer}."
        tensors |= {
            p + "ln_1.weight": np.ones(d, np.float32),
            p + "ln_1.bias": np.zeros(d, np.float32),
            p + "attn.c_attn.weight": normal(d, 3 * d),
            p + "attn.c_attn.bias": normal(3 * d),
            p + "attn.c_proj.weight": normal(d, d),
            p + "attn.c_proj.bias": normal(d),
            p + "ln_2.weight": np.ones(d, np.float32),
            p + "ln_2.bias": np.zeros(d, np.float32),
            p + "mlp.c_fc.weight": normal(d, m),
            p + "mlp.c_fc.bias": normal(m),
            p + "mlp.c_proj.weight": normal(m, d),
            p + "mlp.c_proj.bias": normal(d),
            p + "attn.bias": np.tril(np.ones((1, 1, n_ctx, n_ctx), np.float32)),
        }
    tensors |= {"ln_f.weight": np.ones(d, np.float32), "ln_f.bias": np.zeros(d, np.float32)}
    n_params = sum(a.size for k, a in tensors.items() if not k.endswith(".attn.bias"))
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del tensors
    (folder / "config.json").write_text(json.dumps(CONFIG, indent=2), encoding="utf-8")
    write_tokenizer(folder, CONFIG["vocab_size"])
    return n_params


def write_tokenizer(folder: Path, vocab_size: int) -> None:
    """A valid GPT-2-sized byte-level BPE: the 256 byte symbols, merges of symbol pairs, <|endoftext|>.

    The merges are meaningless (pairs in a fixed order) but well-formed, so loading takes the
    time a real 50,257-piece vocabulary takes.
    """
    from tokenizers import pre_tokenizers

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    pairs = [(a, b) for a in alphabet for b in alphabet][: vocab_size - len(alphabet) - 1]
    tokens = alphabet + [a + b for a, b in pairs] + ["<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(dict.fromkeys(tokens))}
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in pairs]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB (NaN where unavailable)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def _peak_mb() -> float:
    peak = _status_mb("VmHWM")
    if math.isnan(peak):
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak


def _upstream(model: Any, stage: str) -> set[str]:
    """The stage and every stage it is computed from."""
    found, stack = set(), [stage]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(model.stage_spec(current).inputs)
    return found


def measure(folder: Path) -> dict[str, Any]:
    """Load the folder and step through it; run in a fresh process (see :func:`gpt2_scale_figures`)."""
    import simulator
    import simulator.checkpoints  # noqa: F401  (imported before the baseline is taken)

    baseline = _status_mb("VmRSS")
    start = time.perf_counter()
    model = simulator.load(folder)
    load_seconds = time.perf_counter() - start
    rss_after_load = _status_mb("VmRSS")
    peak_load = _peak_mb()

    ids = np.random.default_rng(1).integers(0, model.config.vocab_size, TOKENS).tolist()
    cold: dict[str, dict[str, float]] = {}
    for stage in COLD_STAGES:
        model.clear_cache()
        with model.recording() as computed:
            begin = time.perf_counter()
            model.trace(ids)[stage]
            elapsed = time.perf_counter() - begin
        cold[stage] = {"ms": round(elapsed * 1e3, 2), "stages_computed": len(computed)}
    model.clear_cache()
    trace = model.trace(ids)
    step_ms: dict[str, float] = {}
    for stage in model.stage_ids():  # stepping forward one stage at a time, from an empty cache
        begin = time.perf_counter()
        trace[stage]
        step_ms[stage] = (time.perf_counter() - begin) * 1e3
    slowest_step = max(step_ms, key=step_ms.__getitem__)
    rss_after_full_pass = _status_mb("VmRSS")
    begin = time.perf_counter()
    revisit = model.trace(ids)[VIEWED_STAGE]  # going back to a stage already computed
    revisit_ms = (time.perf_counter() - begin) * 1e3
    del revisit

    begin = time.perf_counter()
    model.set_param(EDITED_PARAM, 0.5, index=(0, 0, 0))
    edit_ms = (time.perf_counter() - begin) * 1e3
    with model.recording() as computed:
        begin = time.perf_counter()
        model.trace(ids)[VIEWED_STAGE]
        view_ms = (time.perf_counter() - begin) * 1e3
    downstream = set(model.downstream(EDITED_PARAM))
    needed = _upstream(model, VIEWED_STAGE)
    expected = downstream & needed
    worst_cold = max(entry["ms"] for entry in cold.values())
    return {
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "parameters": model.n_params(),
        "tokens": TOKENS,
        "stages": len(model.stage_ids()),
        "load_seconds": round(load_seconds, 3),
        "load_target_seconds": LOAD_TARGET_S,
        "rss_before_load_mb": round(baseline, 1),
        "rss_after_load_mb": round(rss_after_load, 1),
        "peak_rss_during_load_mb": round(peak_load, 1),
        "rss_after_full_pass_mb": round(rss_after_full_pass, 1),
        "rss_target_mb": RSS_TARGET_MB,
        "cold_step_ms": cold,
        "worst_cold_step_ms": worst_cold,
        "step_forward_one_stage_ms": {
            "full_pass_ms": round(sum(step_ms.values()), 2),
            "slowest_stage": slowest_step,
            "slowest_ms": round(step_ms[slowest_step], 2),
            "median_ms": round(float(np.median(list(step_ms.values()))), 3),
        },
        "revisit_cached_stage_ms": round(revisit_ms, 3),
        "step_target_ms": STEP_TARGET_MS,
        "after_edit": {
            "edited": f"{EDITED_PARAM}[0, 0, 0]",
            "viewed": VIEWED_STAGE,
            "edit_ms": round(edit_ms, 2),
            "view_ms": round(view_ms, 2),
            "stages_recomputed": len(computed),
            "stages_needed": len(expected),
            "recomputed_only_what_is_needed": set(computed) == expected,
            "untouched_examples": sorted(s for s in ("blocks.0.attn.k", "blocks.0.attn.v", "logits", "probs") if s not in computed),
        },
        "peak_rss_mb": round(_peak_mb(), 1),
        "within_targets": (
            load_seconds < LOAD_TARGET_S
            and max(rss_after_load, peak_load) < RSS_TARGET_MB
            and worst_cold < STEP_TARGET_MS
            and set(computed) == expected
        ),
    }


def measure_window(folder: Path) -> dict[str, Any]:
    """The main window on the folder's model: startup, stepping, an edit; peak memory (fresh process)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    baseline = _status_mb("VmRSS")
    begin = time.perf_counter()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from ui.app import LaunchOptions, build_window
    from ui.commands import SetParamCommand

    app = QApplication.instance() or QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory() as tmp:
        options = LaunchOptions(preset=None, model=str(folder), text=None, stage=None, layer=None, head=None,
                                screenshot=None, size=(1400, 900))
        window = build_window(options, QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat),
                              recovery_dir=Path(tmp) / "recovery")
        window.resize(1400, 900)
        window.show()
        for _ in range(5):
            app.processEvents()
        shown = time.perf_counter() - begin
        state = window.state
        stages = [sid for sid in state.model.stage_ids() if state.model.graph[sid].layer in (None, 0)] + [state.model.stage_ids()[-1]]
        begin = time.perf_counter()
        for sid in stages:
            state.set_stage(sid)
            app.processEvents()
        stepping = time.perf_counter() - begin
        state.undo_stack.push(SetParamCommand(state, EDITED_PARAM, 0.5, (0, 0, 0)))
        app.processEvents()
        figures = {
            "tokens": len(state.trace.ids),
            "show_window_seconds": round(shown, 2),
            "stages_visited": len(stages),
            "visit_seconds": round(stepping, 2),
            "rss_before_mb": round(baseline, 1),
            "rss_end_mb": round(_status_mb("VmRSS"), 1),
            "peak_rss_mb": round(_peak_mb(), 1),
        }
        state.undo_stack.setClean()
        window.close()
    return figures


def gpt2_scale_figures(folder: str | os.PathLike[str] | None = None, window: bool = False) -> dict[str, Any]:
    """Write the checkpoint (into ``folder``, or a temporary folder that is removed) and measure it.

    The measuring runs in a child process so its memory figures exclude writing the file; with
    ``window``, the app's window is measured in another one (see :func:`measure_window`).
    """
    with tempfile.TemporaryDirectory(prefix="gpt2-scale-") as tmp:
        target = Path(folder) if folder is not None else Path(tmp) / "gpt2-small-random"
        begin = time.perf_counter()
        n_params = write_checkpoint(target)
        write_seconds = time.perf_counter() - begin
        size_mb = sum(f.stat().st_size for f in target.iterdir()) / 2**20
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--measure", str(target)],
            capture_output=True, text=True, check=False, cwd=ROOT,
        )
        if out.returncode != 0:
            raise RuntimeError(f"the measuring process failed:\n{out.stderr}")
        figures = json.loads(out.stdout)
        if window:
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--measure-window", str(target)],
                capture_output=True, text=True, check=False, cwd=ROOT, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
            )
            if out.returncode != 0:
                raise RuntimeError(f"the window measuring process failed:\n{out.stderr}")
            figures["window"] = json.loads(out.stdout)
    figures["checkpoint"] = {"parameters_written": n_params, "folder_mb": round(size_mb, 1), "write_seconds": round(write_seconds, 2)}
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure-window", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--window", action="store_true", help="also open the app's window on the model (peak memory of the app)")
    parser.add_argument("--keep", type=Path, help="write the checkpoint folder here instead of a temporary folder")
    args = parser.parse_args(argv)
    if args.measure is not None:
        figures = measure(args.measure)
    elif args.measure_window is not None:
        figures = measure_window(args.measure_window)
    else:
        figures = gpt2_scale_figures(args.keep, window=args.window)
    json.dump(figures, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

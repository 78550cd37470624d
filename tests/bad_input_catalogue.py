"""The bad-input catalogue: everything a user can get wrong, one row per case.

Each row says *where* the input goes, *what* the input is, and a fragment of the message the
user must see (case-insensitive). ``tests/test_bad_input_catalogue.py`` runs every row and also
checks that nothing changed or was lost: the session, the weights, the undo history, the file
already on disk, and no half-written output.

``input`` is, by ``where``:

* the two command lines: the arguments, split like a shell would (``{tmp}`` is a temporary
  folder, ``{file:<name>}`` one of the bad files below, ``{words:N}`` N known words,
  ``{long:N}`` a path of N characters, ``{longname:N}`` a file name of N characters); the app's
  rows also get ``--screenshot`` into ``{tmp}`` so that nothing waits for a window to close;
* the sentence box, weight cells and table cells: the text typed or pasted, or for very long
  text a description the test turns into it ("the cat × 625 (5,000 characters)");
* session files, model files and checkpoint folders: the name of a bad file or folder, built
  by the test from a good one as the name says (see ``BAD_FILES`` / ``BAD_FOLDERS`` there);
* saving, exporting and bulk operations: what is asked for;
* saved settings: the ``[window]`` lines of the settings (ini) file the window starts with;
* the Experiments panel: on the toy model with "the cat walks by the bank", a patching sweep
  with the second sentence (and tokens) named, or a token typed into the attribution's box;
* experiments (``simulator.experiments``): a Python expression on the tiny GPT-2 checkpoint, where
  ``trace(*interventions)`` traces "The cat sat on the river bank." with them, ``short`` is a
  trace of a 4-token sentence, ``encoder`` a trace of the tiny BERT checkpoint and ``plain`` the
  plain trace of the sentence.

Rows whose expected message starts with ``→ <unk>`` are accepted inputs that the model cannot
read word for word: they run, and the unknown pieces are flagged on their token chips.
"""

from __future__ import annotations

from typing import NamedTuple


class Case(NamedTuple):
    where: str
    input: str
    expected: str


CLI_ENGINE = "python -m simulator"
CLI_APP = "transformer-sim (python -m ui)"
SENTENCE = "sentence box"
WEIGHT_CELL = "weight cell (typed on a heatmap)"
TABLE_CELL = "table editor cell"
BULK = "bulk operation"
SESSION_FILE = "File → Open session"
MODEL_FILE = "Model → Load model file (engine: simulator.load)"
MODEL_FILE_WINDOW = "Model → Load model file (window)"
CHECKPOINT = "checkpoint folder (engine: simulator.load)"
SAVE_SESSION = "File → Save session as"
EXPORT = "Export picture"
STARTUP_SETTINGS = "saved settings read at start-up"
EXPERIMENT = "experiments (engine: simulator.experiments)"
EXPERIMENTS_PANEL = "Experiments panel (window)"

CATALOGUE: tuple[Case, ...] = (
    # -- the engine's command line ------------------------------------------------------------------
    Case(CLI_ENGINE, "stages --preset nope", "unknown preset 'nope'"),
    Case(CLI_ENGINE, "stages --model {tmp}/missing.npz", "no such file or folder"),
    Case(CLI_ENGINE, "stages --model {file:empty file}", "is empty (0 bytes)"),
    Case(CLI_ENGINE, "stages --model {file:random bytes}", "not an .npz archive"),
    Case(CLI_ENGINE, "stages --model {file:config claims d_model 10^9}", "d_model must be between 1 and 65536"),
    Case(CLI_ENGINE, "stages --model {file:NaN inside W_Q}", "contains NaN"),
    Case(CLI_ENGINE, "stages --model {tmp}", "no config.json"),
    Case(CLI_ENGINE, "stages --preset toy --text ''", "the text is empty"),
    Case(CLI_ENGINE, "trace --preset toy --text {words:33} --out {tmp}/t.npz", "reads at most 32"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1,x --out {tmp}/t.npz", "comma-separated whole numbers"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1,40 --out {tmp}/t.npz", "token id 40 is outside the vocabulary"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --temperature nan --out {tmp}/t.npz", "temperature must be a positive number"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --temperature -1 --out {tmp}/t.npz", "temperature must be a positive number"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --temperature 1e-50 --out {tmp}/t.npz", "too small for this model's float32 numbers"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --temperature 1e39 --out {tmp}/t.npz", "too large for this model's float32 numbers"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out {tmp}/no/such/folder/t.npz", "does not exist"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out /proc/transformer-sim-trace.npz", "cannot save"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out {tmp}", "is a directory"),
    Case(CLI_ENGINE, "trace --preset toy --text a --ids 1 --out {tmp}/t.npz", "not allowed with argument"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out ''", "the file name is empty"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out {file:a named pipe (FIFO)}", "is a fifo"),
    Case(CLI_ENGINE, "stages --model ''", "cannot open the model: the file name is empty"),
    Case(CLI_ENGINE, "stages --model /dev/zero", "/dev/zero is not a model file or folder"),
    Case(CLI_ENGINE, "stages --model {long:5000}", "cannot open the model: the path is too long (5,000 bytes"),
    Case(CLI_ENGINE, "stages --model {longname:300}", "cannot open the model: a name in the path is too long (304 bytes"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out {long:5000}", "cannot save: the path is too long"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out {longname:300}", "cannot save: a name in the path is too long"),
    Case(CLI_ENGINE, "trace --preset toy --ids 1 --out /dev/zero", "it is a device, not a regular file"),
    Case(CLI_ENGINE, "launch", "invalid choice"),
    Case(CLI_ENGINE, "lessons check nope", "no built-in lesson or file named 'nope'"),
    Case(CLI_ENGINE, "lessons check {tmp}", "is a folder, not a lesson file"),
    Case(CLI_ENGINE, "lessons check {file:random bytes}", "is not a text file"),
    Case(CLI_ENGINE, "lessons check {file:a lesson with an unknown stage}", ":10: unknown stage 'blocks.0.attn.patern'"),
    Case(CLI_ENGINE, "lessons check {file:a lesson with an unknown question type}", ":13: unknown question type 'guess'"),
    Case(CLI_ENGINE, "lessons check {file:a lesson question without compute}", ":12: a pick-cell question needs 'compute:'"),
    Case(CLI_ENGINE, "lessons check {file:a lesson with a cell outside the matrix}", ":15: row 9 is outside the matrix"),
    Case(CLI_ENGINE, "lessons check {file:a lesson without a title}", ":1: the header needs 'title:'"),
    Case(CLI_ENGINE, "lessons teach", "invalid choice"),
    # -- the app's command line --------------------------------------------------------------------
    Case(CLI_APP, "--preset nope", "unknown preset 'nope'"),
    Case(CLI_APP, "--lesson nope", "no built-in lesson or file named 'nope'"),
    Case(CLI_APP, "--lesson {tmp}", "is a folder, not a lesson file"),
    Case(CLI_APP, "--lesson {file:random bytes}", "is not a text file"),
    Case(CLI_APP, "--lesson-step 2", "--lesson-step needs --lesson"),
    Case(CLI_APP, "--lesson queries-and-keys --lesson-step 0", "--lesson-step counts from 1"),
    Case(CLI_APP, "--lesson queries-and-keys --lesson-step 99", "--lesson-step must be between 1 and 6"),
    Case(CLI_APP, "--model {tmp}/missing.npz", "no such file or folder"),
    Case(CLI_APP, "--model {file:random bytes}", "not an .npz archive"),
    Case(CLI_APP, "--model {file:config claims d_model 10^9}", "d_model must be between 1 and 65536"),
    Case(CLI_APP, "--model {file:W_Q of shape [2, 16, 7]}", "must have shape [2, 16, 8]"),
    Case(CLI_APP, "--model ''", "cannot open the model: the file name is empty"),
    Case(CLI_APP, "--model /dev/zero", "/dev/zero is not a model file or folder"),
    Case(CLI_APP, "--model {long:5000}", "cannot open the model: the path is too long (5,000 bytes"),
    Case(CLI_APP, "--model {longname:300}", "cannot open the model: a name in the path is too long (304 bytes"),
    Case(CLI_APP, "--preset toy --model {file:random bytes}", "not allowed with argument"),
    Case(CLI_APP, "--preset toy --stage nonsense", "unknown stage 'nonsense'"),
    Case(CLI_APP, "--preset toy --stage blocks.9.attn.q", "the model has 2 layers"),
    Case(CLI_APP, "--preset toy --stage attn.q --layer 7", "--layer must be between 0 and 1"),
    Case(CLI_APP, "--preset toy --layer abc", "invalid int value"),
    Case(CLI_APP, "--preset toy --head 2", "--head must be between 0 and 1"),
    Case(CLI_APP, "--preset toy --head -1", "--head must be between 0 and 1"),
    Case(CLI_APP, "--preset toy --text ''", "the text is empty"),
    Case(CLI_APP, "--preset toy --text {words:40}", "reads at most 32"),
    Case(CLI_APP, "--preset toy --size big", "--size must look like 1600x1000"),
    Case(CLI_APP, "--preset toy --size 10x10", "between 320x240 and 8000x8000"),
    Case(CLI_APP, "--preset toy --bogus", "unrecognized arguments: --bogus"),
    Case(CLI_APP, "--preset toy --screenshot {tmp}/shot.jpg", "needs a file name ending in .png"),
    Case(CLI_APP, "--preset toy --screenshot /proc/transformer-sim-shot.png", "could not write"),
    # -- the sentence box -----------------------------------------------------------------------------
    Case(SENTENCE, "", "the text is empty"),
    Case(SENTENCE, "   \t  ", "the text is empty"),
    Case(SENTENCE, "{words:33}", "the text has 33 tokens; this model reads at most 32"),
    Case(SENTENCE, "the cat × 625 (5,000 characters)", "reads at most 32"),
    Case(SENTENCE, "?!?! × 1250 (5,000 characters of punctuation)", "reads at most 32"),
    Case(SENTENCE, "🙂 × 5000 (5,000 emoji)", "reads at most 32"),
    Case(SENTENCE, "the zebra walks", "→ <unk>"),
    Case(SENTENCE, "?!", "→ <unk>"),
    Case(SENTENCE, "a 🙂 cat", "→ <unk>"),
    Case(SENTENCE, "a\x00b\x07c", "→ <unk>"),
    Case(SENTENCE, "the\u200bcat\u202e", "→ <unk>"),
    Case(SENTENCE, "a" * 60, "→ <unk>"),
    # -- weights typed on a heatmap cell --------------------------------------------------------------------
    Case(WEIGHT_CELL, "abc", "'abc' is not a number"),
    Case(WEIGHT_CELL, "12,34,567", "commas are read as thousands separators"),
    Case(WEIGHT_CELL, "", "the value is empty"),
    Case(WEIGHT_CELL, "   ", "the value is empty"),
    Case(WEIGHT_CELL, "nan", "NaN (not a number) is not allowed"),
    Case(WEIGHT_CELL, "inf", "infinity is not allowed"),
    Case(WEIGHT_CELL, "-Infinity", "infinity is not allowed"),
    Case(WEIGHT_CELL, "1e39", "too large: weights must stay within ±3.4e+38"),
    Case(WEIGHT_CELL, "-1e309", "too large"),
    Case(WEIGHT_CELL, "1,2,3", "is not a number"),
    Case(WEIGHT_CELL, "0x10", "is not a number"),
    Case(WEIGHT_CELL, "½", "is not a number"),
    Case(WEIGHT_CELL, "🙂", "is not a number"),
    # -- the table editor ------------------------------------------------------------------------------
    Case(TABLE_CELL, "abc", "not changed: 'abc' is not a number"),
    Case(TABLE_CELL, "nan", "not changed: NaN"),
    Case(TABLE_CELL, "1e39", "not changed: 1e39 is too large"),
    # -- bulk operations -------------------------------------------------------------------------------
    Case(BULK, "scale blocks.0.attn.W_Q by 1e39", "would give values beyond ±3.4e+38"),
    Case(BULK, "scale blocks.0.attn.W_Q by nan", "the factor must be a finite number"),
    Case(BULK, "identity on blocks.0.mlp.b_in (a vector)", "identity needs a matrix"),
    Case(BULK, "zero row 99 of embed.W_E (40 rows)", "is outside embed.W_E"),
    # -- session files ---------------------------------------------------------------------------------
    Case(SESSION_FILE, "empty file", "is empty (0 bytes)"),
    Case(SESSION_FILE, "first half of a good file", "damaged"),
    Case(SESSION_FILE, "random bytes", "not an .npz archive"),
    Case(SESSION_FILE, "a text file", "not an .npz archive"),
    Case(SESSION_FILE, "a zip without meta.json", "has no meta.json member"),
    Case(SESSION_FILE, "meta.json that is not JSON", "description is damaged"),
    Case(SESSION_FILE, "schema of another program", "is not a session file of this app"),
    Case(SESSION_FILE, "schema version 99", "written by a newer version of the app"),
    Case(SESSION_FILE, "schema version 0", "has no valid schema version"),
    Case(SESSION_FILE, "a model file", "is a model file, not a session"),
    Case(SESSION_FILE, "W_Q of shape [2, 16, 7]", "must have shape [2, 16, 8]"),
    Case(SESSION_FILE, "NaN inside W_Q", "contains NaN"),
    Case(SESSION_FILE, "+inf inside W_E", "contains NaN or infinite values"),
    Case(SESSION_FILE, "config claims d_model 10^9", "d_model must be between 1 and 65536"),
    Case(SESSION_FILE, "config claims vocab_size 10^12", "vocab_size must be between 1 and 1048576"),
    Case(SESSION_FILE, "an array header claiming 10^12 values", "embed.W_E must have shape [40, 16], got [1000000, 1000000]"),
    Case(SESSION_FILE, "embed.W_E missing", "missing parameters: embed.W_E"),
    Case(SESSION_FILE, "stage blocks.7.attn.q", "'blocks.7.attn.q' does not exist"),
    Case(SESSION_FILE, "head 5 of 2", "head 5 is outside 0..1"),
    Case(SESSION_FILE, "temperature -1", "temperature must be a positive number"),
    Case(SESSION_FILE, "head 9 of 2 switched off", "head 9 is out of range (the model has 2 heads"),
    Case(SESSION_FILE, "a switch-off of mode 'half'", "mode must be 'zero' or 'mean'"),
    Case(SESSION_FILE, "an empty sentence", "the text is empty"),
    Case(SESSION_FILE, "a folder", "is a folder, not a file"),
    Case(SESSION_FILE, "no such file", "no such file"),
    Case(SESSION_FILE, "a named pipe (FIFO)", "not a regular file"),
    Case(SESSION_FILE, "meta.json nested 100,000 deep", "nested too deeply"),
    Case(SESSION_FILE, "meta.json with a 5,000-digit integer", "description is damaged"),
    Case(SESSION_FILE, "a path of 5,000 characters", "cannot open the file: the path is too long"),
    Case(SESSION_FILE, "a file name of 300 characters", "cannot open the file: a name in the path is too long"),
    Case(SESSION_FILE, "a 1 MB file whose W_E inflates to 1 GiB", "refused as a likely zip bomb"),
    Case(SESSION_FILE, "meta.json that claims 1 GiB", "description (meta.json) is damaged or too large"),
    Case(SESSION_FILE, "info that is text", "info must be a JSON object, got text"),
    Case(SESSION_FILE, "notes that are a list", "info.notes must be a JSON object, got a list"),
    Case(SESSION_FILE, "a vocabulary whose entries are numbers", "tokenizer 'vocab' must hold only text; entry 1 is a number"),
    Case(SESSION_FILE, "options that are a list", "session 'options' must be a JSON object, got a list"),
    # -- model files -------------------------------------------------------------------------------------
    Case(MODEL_FILE, "empty file", "is empty (0 bytes)"),
    Case(MODEL_FILE, "first half of a good file", "damaged"),
    Case(MODEL_FILE, "random bytes", "not an .npz archive"),
    Case(MODEL_FILE, "schema of another program", "is not a model file of this app"),
    Case(MODEL_FILE, "schema version 99", "written by a newer version of the app"),
    Case(MODEL_FILE, "a session file", "is not a model file of this app"),
    Case(MODEL_FILE, "W_Q of shape [2, 16, 7]", "must have shape [2, 16, 8]"),
    Case(MODEL_FILE, "NaN inside W_Q", "contains NaN"),
    Case(MODEL_FILE, "+inf inside W_E", "contains NaN or infinite values"),
    Case(MODEL_FILE, "1e39 inside W_E (beyond float32)", "too large for float32"),
    Case(MODEL_FILE, "text instead of numbers in W_E", "values must be numbers"),
    Case(MODEL_FILE, "config claims d_model 10^9", "d_model must be between 1 and 65536"),
    Case(MODEL_FILE, "config claims vocab_size 10^12", "vocab_size must be between 1 and 1048576"),
    Case(MODEL_FILE, "config claims n_heads -2", "n_heads must be between 1 and 1024"),
    Case(MODEL_FILE, "config claims d_model 16.5", "d_model must be a whole number"),
    Case(MODEL_FILE, "config with an unknown key", "unknown model config keys: colour"),
    Case(MODEL_FILE, "activation swish", "act must be one of relu, gelu, gelu_tanh"),
    Case(MODEL_FILE, "an array header claiming 10^12 values", "embed.W_E must have shape [40, 16], got [1000000, 1000000]"),
    Case(MODEL_FILE, "embed.W_E missing", "missing parameters: embed.W_E"),
    Case(MODEL_FILE, "an extra parameter", "unexpected parameters"),
    Case(MODEL_FILE, "a vocabulary with a word twice", "duplicate words"),
    Case(MODEL_FILE, "a tokenizer larger than the vocabulary", "the tokenizer has 101 tokens"),
    Case(MODEL_FILE, "a folder named like a file", "no config.json"),
    Case(MODEL_FILE, "a 1 MB file whose W_E inflates to 1 GiB", "refused as a likely zip bomb"),
    Case(MODEL_FILE, "meta.json that claims 1 GiB", "description (meta.json) is damaged or too large"),
    Case(MODEL_FILE, "W_Q stored as complex numbers", "values must be numbers, got complex64"),
    Case(MODEL_FILE, "info that is text", "info must be a JSON object, got text"),
    Case(MODEL_FILE, "notes that are a list", "info.notes must be a JSON object, got a list"),
    Case(MODEL_FILE, "a note that is a number", "info.notes['embed'] must be text, got a number"),
    Case(MODEL_FILE, "suggested sentences that are text", "info.suggested must be a list, got text"),
    Case(MODEL_FILE, "a vocabulary whose entries are numbers", "tokenizer 'vocab' must hold only text; entry 1 is a number"),
    Case(MODEL_FILE, "a vocabulary that is an object", "tokenizer 'vocab' must be a list of words, got an object"),
    Case(MODEL_FILE, "a tokenizer kind that is a list", "tokenizer 'kind' must be text, got a list"),
    Case(MODEL_FILE, "dimension names that are text", "labels.dims must be a list, got text"),
    Case(MODEL_FILE, "config claims d_model 'sixteen'", "d_model must be a whole number, got 'sixteen'"),
    Case(MODEL_FILE, "config that is a list", "model config must be a JSON object"),
    Case(MODEL_FILE_WINDOW, "config claims d_model 10^9", "d_model must be between 1 and 65536"),
    Case(MODEL_FILE_WINDOW, "NaN inside W_Q", "contains NaN"),
    Case(MODEL_FILE_WINDOW, "random bytes", "not an .npz archive"),
    # -- checkpoint folders --------------------------------------------------------------------------
    Case(CHECKPOINT, "an empty folder", "has no config.json"),
    Case(CHECKPOINT, "config.json that is not JSON", "not valid JSON"),
    Case(CHECKPOINT, "model_type llama", "model_type 'llama' is not supported"),
    Case(CHECKPOINT, "n_embd 10^9", "d_model must be between 1 and 65536"),
    Case(CHECKPOINT, "n_embd not a multiple of n_head", "is not a multiple of n_head"),
    Case(CHECKPOINT, "no model.safetensors", "has no model.safetensors"),
    Case(CHECKPOINT, "only pytorch_model.bin", "PyTorch's pickle format"),
    Case(CHECKPOINT, "model.safetensors cut in half", "damaged or not a safetensors file"),
    Case(CHECKPOINT, "NaN inside a weight", "contains NaN"),
    Case(CHECKPOINT, "a weight of the wrong shape", "do not match config.json"),
    Case(CHECKPOINT, "no tokenizer files", "tokenizer"),
    Case(CHECKPOINT, "n_layer as text", "n_layer must be a whole number, got 'two'"),
    Case(CHECKPOINT, "config.json that is a list", "should hold a JSON object"),
    Case(CHECKPOINT, "config.json nested 100,000 deep", "nested too deeply"),
    Case(CHECKPOINT, "config.json with a 5,000-digit integer", "config.json is damaged"),
    Case(CHECKPOINT, "tokenizer.json whose post-processor names no special tokens", "tokenizer description is inconsistent"),
    Case(CHECKPOINT, "modules.json nested 100,000 deep", "modules.json is damaged (nested too deeply)"),
    # -- places that cannot be written ------------------------------------------------------------------
    Case(SAVE_SESSION, "a folder that does not exist", "does not exist"),
    Case(SAVE_SESSION, "inside a file (as if it were a folder)", "does not exist"),
    Case(SAVE_SESSION, "an existing folder named like the file", "is a directory"),
    Case(SAVE_SESSION, "a folder nobody can write (/proc)", "cannot save"),
    Case(SAVE_SESSION, "a named pipe (FIFO)", "is a fifo"),
    Case(SAVE_SESSION, "a file name of 300 characters", "cannot save: a name in the path is too long (304 bytes"),
    Case(SAVE_SESSION, "a path of 5,000 characters", "cannot save: the path is too long"),
    Case(SAVE_SESSION, "a link to a device (/dev/zero)", "it is a device, not a regular file"),
    Case(SAVE_SESSION, "a device with no suffix (/dev/zero)", "it is a device, not a regular file"),
    # -- settings saved by an earlier run (or edited by hand), read when the window opens --------------------
    Case(STARTUP_SETTINGS, "geometry=garbage", "saved window geometry could not be read and was set aside"),
    Case(STARTUP_SETTINGS, "geometry=7", "saved window geometry could not be read and was set aside"),
    Case(STARTUP_SETTINGS, "geometry=1, 2, 3", "saved window geometry could not be read and was set aside"),
    Case(STARTUP_SETTINGS, "geometry=@Rect(1 2 3 4)", "saved window geometry could not be read and was set aside"),
    Case(STARTUP_SETTINGS, "state=@ByteArray(\\x01\\x02garbage)", "saved window state could not be read and was set aside"),
    Case(STARTUP_SETTINGS, "state=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x05hello)", "saved window state could not be read"),
    Case(STARTUP_SETTINGS, "state=@ByteArray()", "saved window state could not be read and was set aside"),
    Case(STARTUP_SETTINGS, "geometry=x and state=y", "saved window geometry and state could not be read"),
    Case(EXPORT, "PNG into a folder that does not exist", "does not exist"),
    Case(EXPORT, "PNG into /proc", "not writable"),
    Case(EXPORT, "SVG into /proc", "could not be created"),
    Case(EXPORT, "every stage into a file instead of a folder", "it is not an existing folder"),
    Case(EXPORT, "PNG over an earlier picture onto a full disk", "disk is full; the previous file is unchanged"),
    Case(EXPORT, "every stage over an earlier export, the disk full at the third", "the previous file is unchanged (2 of"),
    Case(EXPORT, "saved export options size=4000x9 and scale=7", "saved export options could not be read (size, scale)"),
    # -- ablations, patches, the logit lens and attribution ---------------------------------------------------
    Case(EXPERIMENT, 'trace(Ablate("blocks.5.attn.z", head=0))', "unknown stage 'blocks.5.attn.z' (the model has 2 layers"),
    Case(EXPERIMENT, 'trace(Ablate("blocks.1.attn.z", head=4))', "head 4 is out of range (the model has 4 heads: 0..3)"),
    Case(EXPERIMENT, 'trace(Ablate("blocks.0.mlp.post", head=1))', "head= needs a stage with a head axis"),
    Case(EXPERIMENT, 'trace(Ablate("blocks.0.mlp.post", position=8))', "position 8 is out of range (the input has 8 tokens"),
    Case(EXPERIMENT, 'trace(Ablate("blocks.0.mlp.post", index=[3, 5], mode="max"))', "mode must be 'zero' or 'mean', got 'max'"),
    Case(EXPERIMENT, 'trace(Ablate("tokens"))', "the tokens stage holds token ids"),
    Case(EXPERIMENT, 'trace(Patch("blocks.0.resid_post", source=short, position=3))', "patching needs two inputs of the same length"),
    Case(EXPERIMENT, 'trace(Patch("blocks.0.resid_post", source="The man sat"))', "source must be a trace"),
    Case(EXPERIMENT, 'trace(Patch("blocks.0.ln2", source=encoder))', "the source is a trace of another model"),
    Case(EXPERIMENT, "logit_lens(encoder)", "needs a model that predicts tokens; this one has no unembedding"),
    Case(EXPERIMENT, "logit_attribution(plain, token=400)", "token must be a token id in 0..399, got 400"),
    Case(EXPERIMENT, "logit_attribution(plain, token=1, position=-9)", "position must be a whole number in 0..7 (or -8..-1)"),
    Case(EXPERIMENTS_PANEL, "patch from “the dog walks” (3 tokens, the first has 6)", "patching needs two inputs of the same length"),
    Case(EXPERIMENTS_PANEL, "patch from “the cat walks by the bank” itself", "there is nothing for a patch to restore"),
    Case(EXPERIMENTS_PANEL, "patch with token A = token B", "choose two different tokens"),
    Case(EXPERIMENTS_PANEL, "patch from “” (an empty sentence)", "cannot patch: the text is empty"),
    Case(EXPERIMENTS_PANEL, "attribution token typed “blue creature”", "choose a single token"),
)


def markdown() -> str:
    """The catalogue as a Markdown table (for the docs)."""
    lines = ["| where | input | expected message |", "|---|---|---|"]
    for case in CATALOGUE:
        shown = case.input if case.input.isprintable() and case.input.strip() else repr(case.input)
        cells = (case.where, shown, case.expected)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)

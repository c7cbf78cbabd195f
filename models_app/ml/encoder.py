"""A pretrained BERT-family encoder, run with torch: the base model's knowledge in training.

The encoder is a small torch module whose parameter names are Hugging Face's own, so a base
model's ``model.safetensors`` loads into it directly, and a fine-tuned copy saves back in the
same layout. Word pieces come from the ``tokenizers`` library (its Rust tokenizer gives exact
character offsets). No ``transformers`` stack: this one architecture is about a hundred lines,
and leaving the library out keeps every code path that could reach a model hub out of the
process.

torch is an optional dependency (``pip install '.[base-models]'``): this module imports it
lazily, and `available()` says whether it can be used. Everything runs on a CUDA device when
torch sees one, else on the CPU with one thread per core the process may use.

Files of an encoder, in a base model folder or inside a trained model's artifact:
``config.json``, ``tokenizer.json`` (or ``vocab.txt`` in a base model folder) and
``model.safetensors``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

CONFIG = "config.json"
TOKENIZER = "tokenizer.json"
VOCAB = "vocab.txt"
WEIGHTS = "model.safetensors"
FILES = (CONFIG, TOKENIZER, WEIGHTS)  # what a trained model's artifact keeps of its encoder
SUPPORTED_TYPES = ("bert",)
MAX_TOKENS = 512


class EncoderError(Exception):
    """An encoder's files cannot be used; the message names the file, never a path."""


def available() -> bool:
    """Whether torch and tokenizers are installed (the `base-models` extra)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "tokenizers"))


_thread_limit: int | None = None  # set in web processes, which share their cores


def limit_threads(limit: int | None) -> None:
    """Use `limit` torch threads in this process from now on (None: every core it may use)."""
    global _thread_limit
    _thread_limit = max(1, int(limit)) if limit else None
    torch = sys.modules.get("torch")  # a process that never used torch need not import it
    if torch is not None and torch.get_num_threads() != threads():
        torch.set_num_threads(threads())


def threads() -> int:
    """Threads torch uses here: the process's limit when it has one, else the cores it may use
    (its CPU affinity), at least one."""
    try:
        cores = max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = max(1, os.cpu_count() or 1)
    return _thread_limit or cores


_bf16_allowed = True  # ENCODER_BF16; set by the platform layer with `allow_bf16`
# How much validation score (F1, accuracy) prediction in bfloat16 or int8 may lose against
# float32 for a model to use it: a fifth of a point, about what a handful of entities of a few
# thousand move.
PRECISION_TOLERANCE = 0.002


def allow_bf16(flag: bool) -> None:
    """Whether prediction may multiply in bfloat16 where the device does so natively."""
    global _bf16_allowed
    _bf16_allowed = bool(flag)


_int8_allowed = True  # ENCODER_INT8; set by the platform layer with `allow_int8`


def allow_int8(flag: bool) -> None:
    """Whether prediction may multiply in int8 on a CPU where bfloat16 is not native."""
    global _int8_allowed
    _int8_allowed = bool(flag)


def int8_usable() -> bool:
    """Whether prediction here may run its linear layers in int8: allowed (`allow_int8`) and on
    the CPU (torch's int8 kernels are the CPU's)."""
    return _int8_allowed and device().type == "cpu"


def bf16_native() -> bool:
    """Whether prediction here may run its linear layers in bfloat16: allowed (`allow_bf16`),
    and the device multiplies it natively (a CPU with AVX512-BF16 or AMX, a CUDA device that
    supports it). Elsewhere bfloat16 would be emulated, slower than float32."""
    if not _bf16_allowed:
        return False
    import torch

    if device().type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    try:
        capabilities = torch.cpu.get_capabilities()
    except Exception:  # noqa: BLE001 - an older torch: no way to tell, so no
        return False
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))


def device():
    """CUDA when torch sees a GPU, else the CPU (using `threads()` threads)."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.get_num_threads() != threads():
        torch.set_num_threads(threads())
    return torch.device("cpu")


def _modules():
    """The torch module classes, defined on first use so that importing this file needs no
    torch."""
    global _BertModel
    if _BertModel is not None:
        return _BertModel
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Embeddings(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
            self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
            self.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), c["hidden_size"])
            self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-12))
            self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))

        def forward(self, ids, types: torch.Tensor | None = None):
            positions = torch.arange(ids.shape[1], device=ids.device)
            x = self.word_embeddings(ids) + self.position_embeddings(positions)[None]
            if types is None:
                x = x + self.token_type_embeddings.weight[0]
            else:
                x = x + self.token_type_embeddings(types)
            return self.dropout(self.LayerNorm(x))

    class SelfAttention(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            h = c["hidden_size"]
            self.heads = c["num_attention_heads"]
            self.query, self.key, self.value = nn.Linear(h, h), nn.Linear(h, h), nn.Linear(h, h)
            self.dropout_p = c.get("attention_probs_dropout_prob", 0.1)

        def forward(self, x, mask):
            b, t, h = x.shape
            split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)  # noqa: E731
            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
            p = self.dropout_p if self.training else 0.0
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            return out.transpose(1, 2).reshape(b, t, h)

    class Output(nn.Module):
        def __init__(self, c: dict, width: int):
            super().__init__()
            self.dense = nn.Linear(width, c["hidden_size"])
            self.LayerNorm = nn.LayerNorm(c["hidden_size"], eps=c.get("layer_norm_eps", 1e-12))
            self.dropout = nn.Dropout(c.get("hidden_dropout_prob", 0.1))

        def forward(self, x, residual):
            return self.LayerNorm(self.dropout(self.dense(x)) + residual)

    class Attention(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            self.self = SelfAttention(c)
            self.output = Output(c, c["hidden_size"])

        def forward(self, x, mask):
            return self.output(self.self(x, mask), x)

    class Intermediate(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])

        def forward(self, x):
            return F.gelu(self.dense(x))

    class Layer(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            self.attention = Attention(c)
            self.intermediate = Intermediate(c)
            self.output = Output(c, c["intermediate_size"])

        def forward(self, x, mask):
            x = self.attention(x, mask)
            return self.output(self.intermediate(x), x)

    class Encoder(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            self.layer = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))

    class BertModel(nn.Module):
        """BERT's encoder (no pooler): token ids and mask in, last hidden states out."""

        def __init__(self, c: dict):
            super().__init__()
            self.embeddings = Embeddings(c)
            self.encoder = Encoder(c)

        def forward(self, ids, mask, types: torch.Tensor | None = None):
            # True where attention is allowed: every query may look at every real token.
            allowed = mask[:, None, None, :].bool()
            x = self.embeddings(ids, types)
            for layer in self.encoder.layer:
                x = layer(x, allowed)
            return x

    _BertModel = BertModel
    return BertModel


_BertModel = None


def check_config(config: dict) -> None:
    """EncoderError when `config` is not an encoder this module runs."""
    model_type = config.get("model_type")
    if model_type not in SUPPORTED_TYPES:
        raise EncoderError(
            f"config.json: model_type {model_type!r} is not supported (BERT-family encoders are)."
        )
    for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"):
        if not isinstance(config.get(key), int) or config[key] <= 0:
            raise EncoderError(f"config.json: {key} must be a positive whole number.")
    if config["hidden_size"] % config["num_attention_heads"]:
        raise EncoderError("config.json: hidden_size is not a multiple of num_attention_heads.")
    if config.get("hidden_act", "gelu") != "gelu":
        raise EncoderError(
            f"config.json: hidden_act {config.get('hidden_act')!r} is not supported."
        )


def _tokenizer_from_folder(folder: Path):
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    if (folder / TOKENIZER).is_file():
        try:
            return Tokenizer.from_file(str(folder / TOKENIZER))
        except Exception as exc:  # the Rust side raises plain Exceptions
            raise EncoderError(f"{TOKENIZER} cannot be read: {_short(exc)}") from exc
    lowercase = True
    settings_file = folder / "tokenizer_config.json"
    if settings_file.is_file():
        try:
            lowercase = bool(json.loads(settings_file.read_text()).get("do_lower_case", True))
        except ValueError as exc:
            raise EncoderError("tokenizer_config.json is not valid JSON.") from exc
    try:
        wordpiece = BertWordPieceTokenizer(str(folder / VOCAB), lowercase=lowercase)
    except Exception as exc:
        raise EncoderError(f"{VOCAB} cannot be read: {_short(exc)}") from exc
    return Tokenizer.from_str(wordpiece.to_str())


def _short(exc: Exception) -> str:
    return str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


class Encoder:
    """A BERT-family encoder with its tokenizer, on the device it runs on."""

    def __init__(self, config: dict, tokenizer, state: Mapping):
        import torch

        check_config(config)
        self.config = dict(config)
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.cls_id = self._special("[CLS]", "<s>")
        self.sep_id = self._special("[SEP]", "</s>")
        self.pad_id = int(config.get("pad_token_id") or 0)
        self.max_tokens = min(int(config.get("max_position_embeddings", MAX_TOKENS)), MAX_TOKENS)
        self.device = device()
        model = _modules()(self.config)
        state = {k.removeprefix("bert."): v for k, v in state.items()}
        state = {k: v for k, v in state.items() if not k.startswith(("pooler.", "cls."))}
        state.pop("embeddings.position_ids", None)
        wanted = model.state_dict()
        missing = sorted(set(wanted) - set(state))
        if missing:
            raise EncoderError(f"{WEIGHTS} lacks tensor {missing[0]}.")
        for name, tensor in state.items():
            if name in wanted and tuple(tensor.shape) != tuple(wanted[name].shape):
                raise EncoderError(
                    f"{WEIGHTS}: tensor {name} has shape {tuple(tensor.shape)}, config.json "
                    f"says {tuple(wanted[name].shape)}."
                )
        model.load_state_dict({k: v for k, v in state.items() if k in wanted})
        with torch.no_grad():
            model.to(device=self.device, dtype=torch.float32)
        model.eval()
        self.model = model
        # Set by the owner once the weights no longer change (a served model, a frozen base
        # encoder): prediction may then run a frozen trace of the model (see `runner`).
        self.final = False
        self._runners: dict[tuple, object] = {}
        self._runner_lock = threading.Lock()

    def runner(self, types: bool = False, bf16: bool = False, int8: str = ""):
        """The module prediction runs: the model itself while its weights may still change,
        else (once `final` is set) a frozen TorchScript trace of it, made on first use.
        `types` asks for the module that takes token type ids as a third input; `bf16` for one
        whose linear layers multiply in bfloat16 (`bf16_linears`); `int8` ("channel" or
        "tensor") for one whose linear layers multiply in int8 (`int8_linears`, CPU only).

        The trace runs the same kernels in the same order, so its numbers are exactly the
        model's; it only leaves out the Python between them, which is most of the time of a
        short sentence (one CoNLL sentence: 6.4 ms eager, 4.2 ms traced, one core). Should the
        trace fail, the model itself runs.
        """

        def variant():
            if bf16:
                return bf16_linears(self.model)
            if int8:
                return int8_linears(self.model, per_channel=int8 == "channel")
            return self.model

        if not self.final:
            return variant()
        key = (types, bf16, int8)
        with self._runner_lock:
            if key not in self._runners:
                model = variant()
                self._runners[key] = _frozen_trace(model, self, types) or model
            return self._runners[key]

    def lowercases(self) -> bool:
        """Whether the tokenizer folds case (an uncased model), so the pieces do not show it."""
        encode = self.tokenizer.encode
        return (
            encode("A", add_special_tokens=False).ids == encode("a", add_special_tokens=False).ids
        )

    def add_token_types(self, count: int) -> None:
        """Give the model `count` token types, each starting as type 0 (what every piece gets
        without types), so the model computes exactly what it did until training tells the
        types apart. config.json's type_vocab_size follows, so the files load back."""
        import torch

        table = self.model.embeddings.token_type_embeddings
        grown = torch.nn.Embedding(count, table.embedding_dim).to(table.weight.device)
        with torch.no_grad():
            grown.weight.copy_(table.weight[:1].expand(count, -1))
        self.model.embeddings.token_type_embeddings = grown
        self.config["type_vocab_size"] = count

    def _special(self, *names: str) -> int:
        for name in names:
            token_id = self.tokenizer.token_to_id(name)
            if token_id is not None:
                return int(token_id)
        raise EncoderError(f"{TOKENIZER} has no {names[0]} token.")

    # -- loading and saving ------------------------------------------------------------------

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> Encoder:
        """An encoder from a base model folder or an artifact's encoder folder."""
        from safetensors.torch import load_file

        folder = Path(folder)
        try:
            config = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EncoderError(f"{CONFIG} cannot be read.") from exc
        tokenizer = _tokenizer_from_folder(folder)
        try:
            state = load_file(str(folder / WEIGHTS))
        except Exception as exc:
            raise EncoderError(f"{WEIGHTS} cannot be read: {_short(exc)}") from exc
        return cls(config, tokenizer, state)

    @classmethod
    def from_files(cls, files: Mapping[str, bytes]) -> Encoder:
        """An encoder from its three files' bytes (as `files()` gives them)."""
        from safetensors.torch import load
        from tokenizers import Tokenizer

        try:
            config = json.loads(bytes(files[CONFIG]).decode("utf-8"))
            tokenizer = Tokenizer.from_str(bytes(files[TOKENIZER]).decode("utf-8"))
            state = load(bytes(files[WEIGHTS]))
        except KeyError as exc:
            raise EncoderError(f"{exc.args[0]} is missing.") from exc
        except Exception as exc:
            raise EncoderError(f"the encoder's files cannot be read: {_short(exc)}") from exc
        return cls(config, tokenizer, state)

    def files(self) -> dict[str, bytes]:
        """config.json, tokenizer.json and model.safetensors of the encoder as it is now."""
        from safetensors.torch import save

        state = {k: v.detach().to("cpu").contiguous() for k, v in self.model.state_dict().items()}
        return {
            CONFIG: (json.dumps(self.config, indent=2, sort_keys=True) + "\n").encode(),
            TOKENIZER: self.tokenizer.to_str().encode("utf-8"),
            WEIGHTS: save(state, metadata={"format": "pt"}),
        }

    def save(self, folder: str | os.PathLike) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in self.files().items():
            (folder / name).write_bytes(data)

    @property
    def hidden_size(self) -> int:
        return int(self.config["hidden_size"])

    # -- running -------------------------------------------------------------------------------

    def batch(self, pieces: Sequence[Sequence[int]]):
        """Padded id and mask tensors for sequences of word-piece ids ([CLS] ... [SEP] added)."""
        import torch

        width = max(len(p) for p in pieces) + 2
        ids = torch.full((len(pieces), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(pieces), width), dtype=torch.long)
        for row, p in enumerate(pieces):
            ids[row, 0] = self.cls_id
            ids[row, 1 : len(p) + 1] = torch.as_tensor(p, dtype=torch.long)
            ids[row, len(p) + 1] = self.sep_id
            mask[row, : len(p) + 2] = 1
        return ids.to(self.device), mask.to(self.device)

    def piece_ids(self, texts: Sequence[str], limit: int | None = None) -> list[list[int]]:
        """Word-piece ids of each text (no special tokens), cut at `limit` pieces."""
        limit = limit or self.max_tokens - 2
        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [e.ids[:limit] for e in encodings]

    def embed(
        self,
        texts: Sequence[str],
        *,
        max_tokens: int = 256,
        batch_tokens: int = 8192,
        bf16: bool = False,
        int8: str = "",
    ) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence embeddings (documents x hidden), float32.

        Each text is cut at `max_tokens` word pieces. Texts run in length-sorted batches of
        about `batch_tokens` pieces, so little work is spent on padding. `bf16` runs the linear
        layers in bfloat16 (`bf16_linears`), `int8` ("channel") in int8 (`int8_linears`).
        """
        import torch

        out = np.zeros((len(texts), self.hidden_size), dtype=np.float32)
        if not len(texts):
            return out
        pieces = self.piece_ids(texts, min(max_tokens, self.max_tokens) - 2)
        order = sorted(range(len(pieces)), key=lambda i: len(pieces[i]))
        model = self.runner(bf16=bf16, int8=int8)
        self.model.eval()
        with torch.inference_mode():
            for group in token_batches(order, [len(p) + 2 for p in pieces], batch_tokens):
                ids, mask = self.batch([pieces[i] for i in group])
                hidden = model(ids, mask)
                weights = mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out[group] = pooled.float().cpu().numpy()
        return out


def _frozen_trace(model, enc: Encoder, types: bool = False):
    """`model` traced on a padded batch of two (with token types when `types`) and frozen, or
    None when that fails."""
    import torch

    model.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # torch marks TorchScript deprecated in favour of torch.compile, which compiles
            # C++ at run time; should a later torch drop tracing, prediction runs the model.
            warnings.simplefilter("ignore", DeprecationWarning)
            ids, mask = enc.batch([[enc.cls_id] * 3, [enc.cls_id]])
            inputs = (ids, mask, torch.zeros_like(ids)) if types else (ids, mask)
            traced = torch.jit.trace(model, inputs, check_trace=False)
            return torch.jit.freeze(traced.eval())
    except Exception:  # noqa: BLE001 - prediction then runs the model itself
        return None


def bf16_linears(model):
    """A copy of `model` for prediction whose linear layers keep their weights in bfloat16 and
    multiply in it (inputs rounded to bfloat16, products summed in float32, outputs rounded to
    bfloat16 and back); embeddings, attention and layer norms stay float32. On a CPU with native
    bfloat16 a CoNLL sentence's encoder pass takes about a third of float32's time; its
    hidden states differ from float32's by about 1% of their scale."""
    import copy

    import torch
    from torch import nn
    from torch.nn import functional as F

    class Bf16Linear(nn.Module):
        def __init__(self, linear):
            super().__init__()
            self.weight = nn.Parameter(linear.weight.detach().to(torch.bfloat16), False)
            self.bias = nn.Parameter(linear.bias.detach().to(torch.bfloat16), False)

        def forward(self, x):
            return F.linear(x.to(torch.bfloat16), self.weight, self.bias).to(x.dtype)

    copied = copy.deepcopy(model)
    for module in list(copied.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.Linear):
                setattr(module, name, Bf16Linear(child))
    return copied.eval()


def int8_linears(model, per_channel: bool = True):
    """A copy of `model` for prediction on a CPU whose linear layers multiply in int8 (torch's
    dynamic quantization): weights rounded to int8 once, with one scale per output channel
    (`per_channel`) or one for the whole matrix, inputs rounded to int8 per batch, products
    summed in int32. Per channel keeps each row's own range: a CoNLL tagger trained 3 epochs
    scored the validation F1 of float32 with it (0.9249 against 0.9243) where one scale a matrix
    lost 0.014, and a sentence's encoder pass took less than half of float32's time on a CPU
    without bfloat16. Whether a model may use it is checked on its validation split: one
    trained 5 epochs lost 0.007, and was refused."""
    import torch
    from torch import nn
    from torch.ao.quantization import (
        default_dynamic_qconfig,
        per_channel_dynamic_qconfig,
        quantize_dynamic,
    )

    qconfig = per_channel_dynamic_qconfig if per_channel else default_dynamic_qconfig
    with warnings.catch_warnings():  # torch.ao.quantization says it will move to torchao
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {nn.Linear: qconfig}, dtype=torch.qint8, inplace=False)


def token_batches(order: Sequence[int], lengths: Sequence[int], batch_tokens: int) -> list[list]:
    """Consecutive groups of `order` whose padded size (rows x longest) stays near
    `batch_tokens`; `order` is usually sorted by length."""
    groups, group, longest = [], [], 0
    for i in order:
        width = max(longest, lengths[i])
        if group and width * (len(group) + 1) > batch_tokens:
            groups.append(group)
            group, width = [], lengths[i]
        group.append(i)
        longest = width
    if group:
        groups.append(group)
    return groups


def epoch_batches(rng, items: Sequence[int], lengths: Sequence[int], batch_tokens: int) -> list:
    """One training epoch's batches: `items` sorted by length (ties in `rng`'s order) and
    grouped by `token_batches`, the groups shuffled by `rng`."""
    keys = {i: (lengths[i], rng.random()) for i in items}
    groups = token_batches(sorted(items, key=keys.__getitem__), lengths, batch_tokens)
    rng.shuffle(groups)
    return groups


def optimizer(named_parameters, settings: Mapping, total_steps: int):
    """AdamW (no decay on biases and LayerNorm weights) and its schedule: a linear warm-up over
    the first `settings["warmup"]` of `total_steps`, then a linear decay to zero at the last."""
    import torch

    total_steps = max(1, total_steps)
    warmup = max(1, int(settings["warmup"] * total_steps))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    decay, no_decay = [], []
    for name, param in named_parameters:
        (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(param)
    adamw = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": float(settings["weight_decay"])},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=float(settings["learn_rate"]),
    )
    return adamw, torch.optim.lr_scheduler.LambdaLR(adamw, schedule)


def steps_per_epoch(items: Sequence[int], lengths: Sequence[int], batch_tokens: int) -> int:
    """Training batches an epoch over `items` makes: `token_batches` of them sorted by length.
    Which of equally long items share a batch changes from epoch to epoch, the count does not,
    so a learning-rate schedule planned with it ends exactly at the last step."""
    by_length = sorted(items, key=lambda i: lengths[i])
    return len(token_batches(by_length, lengths, batch_tokens))


def load_base_encoder(model) -> tuple[Encoder | None, str | None]:
    """The encoder of an installed base model (a `base_models.BaseModel`) and None, or None and
    a warning naming the model and the file at fault (never a path). Never raises: a broken base
    model must not stop a training, which goes on without it."""
    name = model.name
    if getattr(model, "problem", None):
        problem = model.problem
    elif not available():
        problem = (
            f"Base model '{name}' cannot be used: torch and tokenizers (the base-models extra) "
            "are not installed."
        )
    else:
        try:
            return Encoder.from_folder(model.path), None
        except EncoderError as exc:
            problem = f"Base model '{name}': {exc}"
        except Exception:  # noqa: BLE001 - any other failure reading its files
            problem = f"Base model '{name}': its files could not be read."
    return None, f"{problem} The model was trained without it."


_shared: dict[str, Encoder] = {}
_shared_lock = threading.Lock()


def shared(files: Mapping[str, bytes]) -> Encoder:
    """One encoder per process for the same files (keyed by their sha256), for frozen encoders
    that several models embed with: they are loaded once and never changed. A fine-tuned
    encoder belongs to its model and is loaded with `Encoder.from_files` instead."""
    digest = hashlib.sha256()
    for name in FILES:
        digest.update(hashlib.sha256(bytes(files.get(name, b""))).digest())
    key = digest.hexdigest()
    with _shared_lock:
        if key not in _shared:
            enc = Encoder.from_files(files)
            enc.final = True
            _shared[key] = enc
        return _shared[key]


def flops_per_token(config: Mapping) -> float:
    """Multiply-adds of one token through the encoder, forward only (attention excluded)."""
    h, i = config["hidden_size"], config["intermediate_size"]
    return float(config["num_hidden_layers"] * (4 * h * h + 2 * h * i))


# Work (the unit of the training budgets: about one idle second of the benchmark machine, two
# cores) per word piece and multiply-add, measured with all-MiniLM-L6-v2 (10.6 M multiply-adds a
# piece): 4,600 pieces/s through the encoder forward only, 1,500 pieces/s for a training step
# (forward, backward and AdamW). Counted from the data and the config, never from the clock.
INFER_WORK_PER_FLOP = 2.05e-11
TRAIN_WORK_PER_FLOP = 6.3e-11


def infer_work(config: Mapping, pieces: int) -> float:
    """Work of running `pieces` word pieces through the encoder (embedding or prediction)."""
    return INFER_WORK_PER_FLOP * flops_per_token(config) * pieces


def train_work(config: Mapping, pieces: int) -> float:
    """Work of one training pass over `pieces` word pieces."""
    return TRAIN_WORK_PER_FLOP * flops_per_token(config) * pieces


def seed_everything(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))

"""A tiny base model the suite builds itself: a 2-layer BERT-shaped encoder in Hugging Face's layout.

`build_base_model(folder)` writes config.json, vocab.txt, tokenizer_config.json,
special_tokens_map.json, LICENSE and a model.safetensors of correctly shaped random float32 tensors
under BERT's usual names, so discovery, training and serving can be tested in seconds without the
90 MB package. The same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

HIDDEN = 32
LAYERS = 2
HEADS = 2
INTERMEDIATE = 64
MAX_POSITIONS = 64
TYPE_VOCAB = 2

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Lower-case word pieces: whole words, then continuations, then single characters, so any
# lower-case ASCII text tokenizes (to [UNK] at worst).
WORDS = (
    "the a an of to in and is was for on with as by at from it he she they we i you "
    "city river new york london paris john mary company bank said will has have had "
    "not no yes good bad happy sad angry love hate play game team won lost"
).split()
PIECES = ["##s", "##ed", "##ing", "##er", "##ly"]
CHARS = list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
VOCAB = SPECIAL + WORDS + PIECES + CHARS


def bert_tensor_shapes(vocab_size: int = len(VOCAB)) -> dict[str, tuple[int, ...]]:
    """BERT's parameter names and shapes for this tiny configuration."""
    shapes: dict[str, tuple[int, ...]] = {
        "embeddings.word_embeddings.weight": (vocab_size, HIDDEN),
        "embeddings.position_embeddings.weight": (MAX_POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": (TYPE_VOCAB, HIDDEN),
        "embeddings.LayerNorm.weight": (HIDDEN,),
        "embeddings.LayerNorm.bias": (HIDDEN,),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for part in ("query", "key", "value"):
            shapes[f"{p}attention.self.{part}.weight"] = (HIDDEN, HIDDEN)
            shapes[f"{p}attention.self.{part}.bias"] = (HIDDEN,)
        shapes[f"{p}attention.output.dense.weight"] = (HIDDEN, HIDDEN)
        shapes[f"{p}attention.output.dense.bias"] = (HIDDEN,)
        shapes[f"{p}attention.output.LayerNorm.weight"] = (HIDDEN,)
        shapes[f"{p}attention.output.LayerNorm.bias"] = (HIDDEN,)
        shapes[f"{p}intermediate.dense.weight"] = (INTERMEDIATE, HIDDEN)
        shapes[f"{p}intermediate.dense.bias"] = (INTERMEDIATE,)
        shapes[f"{p}output.dense.weight"] = (HIDDEN, INTERMEDIATE)
        shapes[f"{p}output.dense.bias"] = (HIDDEN,)
        shapes[f"{p}output.LayerNorm.weight"] = (HIDDEN,)
        shapes[f"{p}output.LayerNorm.bias"] = (HIDDEN,)
    shapes["pooler.dense.weight"] = (HIDDEN, HIDDEN)
    shapes["pooler.dense.bias"] = (HIDDEN,)
    return shapes


def bert_config(vocab_size: int = len(VOCAB)) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS,
        "intermediate_size": INTERMEDIATE,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": MAX_POSITIONS,
        "type_vocab_size": TYPE_VOCAB,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "vocab_size": vocab_size,
    }


def build_base_model(folder: str | Path, *, seed: int = 0, licence: bool = True) -> Path:
    """Write a tiny BERT-shaped base model into `folder` (created) and return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in bert_tensor_shapes().items():
        if name.endswith("LayerNorm.weight"):
            tensors[name] = np.ones(shape, dtype=np.float32)
        elif name.endswith(".bias"):
            tensors[name] = np.zeros(shape, dtype=np.float32)
        else:
            tensors[name] = (rng.standard_normal(shape) * 0.02).astype(np.float32)
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(bert_config(), indent=2) + "\n")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (folder / "tokenizer_config.json").write_text(
        json.dumps(
            {
                "tokenizer_class": "BertTokenizer",
                "do_lower_case": True,
                "model_max_length": MAX_POSITIONS,
                "unk_token": "[UNK]",
                "sep_token": "[SEP]",
                "pad_token": "[PAD]",
                "cls_token": "[CLS]",
                "mask_token": "[MASK]",
            },
            indent=2,
        )
        + "\n"
    )
    (folder / "special_tokens_map.json").write_text(
        json.dumps(
            {
                "unk_token": "[UNK]",
                "sep_token": "[SEP]",
                "pad_token": "[PAD]",
                "cls_token": "[CLS]",
                "mask_token": "[MASK]",
            }
        )
        + "\n"
    )
    if licence:
        (folder / "LICENSE").write_text("Test model written by the suite; no rights reserved.\n")
    return folder

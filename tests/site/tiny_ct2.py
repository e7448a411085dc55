"""Build a tiny CTranslate2 model with random weights and SentencePiece vocabularies.

The real engine runs on it; its output is meaningless Latin-script pieces, which
is all the plumbing tests need (no model weights can be downloaded here).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np


def _train_spm(lines: list[str], vocab_size: int) -> bytes:
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return model.getvalue()


def build_tiny_model(directory: Path, source_lines: list[str], target_lines: list[str], d_model: int = 16) -> Path:
    import sentencepiece as spm
    from ctranslate2.specs import transformer_spec

    directory.mkdir(parents=True, exist_ok=True)
    source_spm, target_spm = _train_spm(source_lines, 300), _train_spm(target_lines, 300)
    (directory / "source.spm").write_bytes(source_spm)
    (directory / "target.spm").write_bytes(target_spm)
    source_vocab = [
        spm.SentencePieceProcessor(model_proto=source_spm).id_to_piece(i)
        for i in range(spm.SentencePieceProcessor(model_proto=source_spm).get_piece_size())
    ]
    target_proc = spm.SentencePieceProcessor(model_proto=target_spm)
    target_vocab = [target_proc.id_to_piece(i) for i in range(target_proc.get_piece_size())]

    spec = transformer_spec.TransformerSpec.from_config(num_layers=1, num_heads=2)
    rng = np.random.default_rng(0)
    ffn = 2 * d_model

    def shape(name: str) -> tuple[int, ...]:
        if "embeddings" in name:
            return (len(source_vocab) if name.startswith("encoder") else len(target_vocab), d_model)
        if name.endswith("projection/weight"):
            return (len(target_vocab), d_model)
        if name.endswith(("gamma", "beta")):
            return (d_model,)
        if "self_attention/linear_0" in name:
            return (3 * d_model, d_model)
        if "/attention/linear_1" in name:
            return (2 * d_model, d_model)
        if "ffn/linear_0" in name:
            return (ffn, d_model)
        if "ffn/linear_1" in name:
            return (d_model, ffn)
        return (d_model, d_model)

    for name, value in spec.variables().items():
        if value is not None:
            continue
        scope = spec
        *path, attribute = name.split("/")
        for part in path:
            match = re.fullmatch(r"(.+)_(\d+)", part)
            scope = (
                getattr(scope, part) if hasattr(scope, part) else getattr(scope, match.group(1))[int(match.group(2))]
            )  # type: ignore[union-attr]
        array = (
            np.ones(shape(name), np.float32)
            if attribute == "gamma"
            else (rng.standard_normal(shape(name)) * 0.5).astype(np.float32)
        )
        if name.endswith("projection/weight"):
            # Never end a sentence or emit a bare space: every unit gets visible text.
            for token in ("</s>", "▁", "<unk>", "<s>"):
                if token in target_vocab:
                    array[target_vocab.index(token)] = 0.0
            array[:, 0] = np.abs(array[:, 0])
        setattr(scope, attribute, array)
    spec.register_source_vocabulary(source_vocab)
    spec.register_target_vocabulary(target_vocab)
    spec.validate()
    spec.optimize(quantization=None)
    spec.save(str(directory))
    return directory

"""A local CTranslate2 model (e.g. OPUS-MT ``opus-mt-tc-big-zle-en``, uk+ru → en).

Install with ``pip install 'sources-crawler[ctranslate2]'`` and point
TRANSLATION_MODEL at a converted model directory that also holds the
SentencePiece models (``source.spm`` and ``target.spm`` as in Marian/OPUS-MT,
or one shared ``sentencepiece.model`` / ``spm.model``).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from crawler.translation.base import ErrorKind, Provider, ProviderOptions, TranslationError

__all__ = ["CTranslate2Provider"]

_SHARED_NAMES = ("sentencepiece.model", "spm.model", "sentencepiece.bpe.model")


class CTranslate2Provider(Provider):
    name = "ctranslate2"
    label = "a local CTranslate2 model"
    max_chars = 16000
    max_items = 16
    # OPUS-MT models take up to 512 tokens; ~1,000 characters stays well inside.
    max_text_chars = 1000

    def __init__(self, options: ProviderOptions):
        super().__init__(options)
        self.model_dir = Path(options.model) if options.model else None
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, Any] | None = None

    def check(self) -> str | None:
        try:
            import ctranslate2  # noqa: F401
            import sentencepiece  # noqa: F401
        except ImportError:
            return "ctranslate2 is not installed (pip install 'sources-crawler[ctranslate2]')"
        if self.model_dir is None:
            return "set TRANSLATION_MODEL to a CTranslate2 model directory"
        if not (self.model_dir / "model.bin").is_file():
            return f"{self.model_dir} holds no CTranslate2 model (model.bin)"
        if self._spm_paths() is None:
            return f"{self.model_dir} has no SentencePiece model (source.spm/target.spm or sentencepiece.model)"
        return None

    def _spm_paths(self) -> tuple[Path, Path] | None:
        assert self.model_dir is not None
        source, target = self.model_dir / "source.spm", self.model_dir / "target.spm"
        if source.is_file() and target.is_file():
            return source, target
        for name in _SHARED_NAMES:
            shared = self.model_dir / name
            if shared.is_file():
                return shared, shared
        return None

    def _load(self) -> tuple[Any, Any, Any]:
        with self._lock:
            if self._loaded is None:
                import ctranslate2
                import sentencepiece

                problem = self.check()
                if problem:
                    raise TranslationError(ErrorKind.UNAVAILABLE, problem)
                paths = self._spm_paths()
                assert paths is not None and self.model_dir is not None
                translator = ctranslate2.Translator(
                    str(self.model_dir), device="cpu", inter_threads=1, intra_threads=max(1, self.options.threads)
                )
                source = sentencepiece.SentencePieceProcessor(model_file=str(paths[0]))
                target = sentencepiece.SentencePieceProcessor(model_file=str(paths[1]))
                self._loaded = (translator, source, target)
            return self._loaded

    def translate(self, texts: list[str], source: str, target: str, deadline: float) -> list[str]:
        translator, sp_source, sp_target = self._load()
        tokens = [[*sp_source.encode(text, out_type=str), "</s>"] for text in texts]
        try:
            # Output rarely exceeds twice the input; the cap stops runaway repetition.
            longest = max(len(t) for t in tokens)
            results = translator.translate_batch(
                tokens, beam_size=2, min_decoding_length=1, max_decoding_length=min(512, 2 * longest + 10)
            )
        except (RuntimeError, ValueError) as exc:
            raise TranslationError(ErrorKind.BAD_RESPONSE, f"CTranslate2: {exc}") from None
        return [sp_target.decode(result.hypotheses[0]).replace("▁", " ").strip() for result in results]

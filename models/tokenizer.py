"""Tokenizer loading: the bert-base-chinese vocabulary with NFKC in front of BERT's normaliser.

NFKC makes full-width and half-width forms (１２３ / 123, ，/ ,) tokenise alike while the offsets
still index the original string; `encode_texts` reads a Traditional text as Simplified the same way. `PreTrainedTokenizerFast.from_pretrained(dir)` honours the saved
tokenizer.json (AutoTokenizer would rebuild the normaliser and drop NFKC).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tokenizers import normalizers
from transformers import BatchEncoding, BertTokenizer, PreTrainedTokenizerFast

from zhie.models.simplified import to_simplified

DEFAULT_VOCAB = Path(__file__).resolve().parents[1] / "models" / "vocab" / "bert-base-chinese-vocab.txt"


def with_nfkc(tok: PreTrainedTokenizerFast) -> PreTrainedTokenizerFast:
    """Put NFKC first in the normaliser unless it is already there."""
    norm = tok.backend_tokenizer.normalizer
    if "NFKC" not in repr(norm):
        tok.backend_tokenizer.normalizer = normalizers.Sequence([normalizers.NFKC(), norm])
    return tok


def tokenizer_from_vocab(vocab_file: str | Path = DEFAULT_VOCAB) -> PreTrainedTokenizerFast:
    """Build the fast BERT tokenizer from a vocab.txt (BertTokenizerFast(vocab_file=) ignores the file in transformers 5)."""
    return with_nfkc(BertTokenizer(vocab=str(vocab_file), do_lower_case=True, tokenize_chinese_chars=True))


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerFast:
    """Load the tokenizer saved beside any BERT checkpoint (ours or a Hugging Face one), with NFKC."""
    path = Path(path)
    if (path / "tokenizer.json").exists():
        tok = PreTrainedTokenizerFast.from_pretrained(str(path))
    elif (path / "vocab.txt").exists():
        tok = tokenizer_from_vocab(path / "vocab.txt")
    else:
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(path))
    return with_nfkc(tok)


def encode_texts(tokenizer: PreTrainedTokenizerFast, texts: Sequence[str], offsets: bool = True) -> BatchEncoding:
    """Token ids (no [CLS]/[SEP]) and, with `offsets`, character offsets of `texts` as our encoders read
    them: a Traditional text as Simplified (zhie.models.simplified; one character for one, so the offsets
    index the original text). Training and inference both tokenise through here."""
    return tokenizer([to_simplified(t) for t in texts], add_special_tokens=False, return_offsets_mapping=offsets)

"""The one error the Label Studio workflow raises, apart from the SDK that raises it (importing the SDK costs
0.7 s, which every `zhie` command would pay if the CLI imported it to catch this)."""
from __future__ import annotations


class LabelStudioError(RuntimeError):
    """A Label Studio call failed; the message is safe to print."""

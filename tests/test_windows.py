from hypothesis import given, strategies as st

from zhie.models.windows import make_windows


@given(n=st.integers(0, 2000), size=st.integers(8, 300), frac=st.floats(0.25, 1.0))
def test_every_token_kept_exactly_once_inside_its_window(n, size, frac):
    stride = max(1, int(size * frac))
    wins = make_windows(n, size, stride)
    covered = []
    for w in wins:
        assert 0 <= w.start <= w.keep_from <= w.keep_to <= w.end <= n
        assert w.end - w.start <= size
        covered.extend(range(w.keep_from, w.keep_to))
    assert covered == list(range(n))

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


@given(lengths=st.lists(st.integers(0, 120), min_size=1, max_size=8), batch_size=st.integers(1, 5))
def test_calls_hold_one_text_each_unless_shared_and_give_the_same_rows(lengths, batch_size):
    import numpy as np

    from zhie.models.windows import run_windows

    ids_per_text = [[1000 * (t + 1) + k for k in range(n)] for t, n in enumerate(lengths)]
    calls = []

    def run(ids, mask, types):  # per token: its own id, so every row says which text and token it came from
        calls.append({int(i) // 1000 for i in ids[mask.astype(bool)] if i >= 1000})
        return (ids[..., None].astype(np.float32),)

    outs = {}
    for share in (True, False):
        calls.clear()
        outs[share] = run_windows(ids_per_text, run, (1,), 16, 12, batch_size, 1, 2, 0, share_calls=share)
        if not share:
            assert all(len(texts) == 1 for texts in calls)   # no call mixes texts
    for t, ids in enumerate(ids_per_text):
        assert outs[False][t][0][:, 0].tolist() == ids == outs[True][t][0][:, 0].tolist()

"""The model worker's batching: concurrent requests share model calls, stragglers are waited for briefly, and a lone
client is never held back."""

from __future__ import annotations

import asyncio
import time

import pytest

from backend.engine import LINGER_S, Batcher


def _recording(sizes: list[int], work_s: float = 0.004):
    def fn(items):
        sizes.append(len(items))
        time.sleep(work_s)
        return [i * 10 for i in items]
    return fn


def test_concurrent_submissions_run_as_one_batch_and_get_their_own_results():
    async def main():
        b, sizes = Batcher(64), []
        out = await asyncio.gather(*(b.submit("edit", _recording(sizes), i) for i in range(16)))
        b.close()
        return out, sizes

    out, sizes = asyncio.run(main())
    assert out == [i * 10 for i in range(16)]
    assert sizes == [16]  # all queued before the worker's first turn: one model call


def test_clients_coming_back_late_are_waited_for_so_the_batch_stays_whole():
    async def main():
        b, sizes = Batcher(64), []
        fn = _recording(sizes)

        async def client(i: int, delay: float):
            await asyncio.sleep(delay)
            return await b.submit("edit", fn, i)

        await asyncio.gather(*(client(i, 0) for i in range(16)))  # one batch of 16: the batcher learns 16 are in play
        await asyncio.gather(*(client(i, 0) for i in range(8)), *(client(i, LINGER_S / 4) for i in range(8, 16)))
        b.close()
        return sizes

    sizes = asyncio.run(main())
    assert sizes[-1] == 16, sizes


def test_a_lone_client_is_not_held_back():
    async def main():
        b, sizes = Batcher(64), []
        fn = _recording(sizes, work_s=0)
        waits = []
        for i in range(20):
            t0 = time.perf_counter()
            await b.submit("edit", fn, i)
            waits.append(time.perf_counter() - t0)
        b.close()
        return sizes, waits

    sizes, waits = asyncio.run(main())
    assert sizes == [1] * 20
    assert sorted(waits)[10] < LINGER_S / 2  # no linger: the median call returns well inside the linger window


def test_a_failing_batch_reaches_every_request_in_it():
    async def main():
        b = Batcher(64)

        def boom(items):
            raise RuntimeError("model exploded")

        res = await asyncio.gather(*(b.submit("edit", boom, i) for i in range(3)), return_exceptions=True)
        b.close()
        return res

    res = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) and "exploded" in str(r) for r in res)


@pytest.mark.parametrize("n", [65, 130])
def test_batches_never_exceed_microbatch(n):
    async def main():
        b, sizes = Batcher(64), []
        await asyncio.gather(*(b.submit("edit", _recording(sizes, 0), i) for i in range(n)))
        b.close()
        return sizes

    sizes = asyncio.run(main())
    assert max(sizes) <= 64 and sum(sizes) == n

"""Load test of `zhie serve` on loopback: N concurrent clients for a bounded time, then the figures.

  python benchmarks/load_test.py [--clients 8] [--seconds 60] [--port 8766] [--url http://127.0.0.1:PORT]

Starts `zhie serve` on 127.0.0.1 (unless --url names a running one), sends our own short articles
from N client threads until the time is up (each request bounded by a timeout), and prints requests,
errors, p50/p95 latency and throughput. Only loopback addresses are accepted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlparse

import httpx

ARTICLES = [
    "2025年3月12日，四川省青川县与星河动力签约，新能源装备产业园项目落户青川县，总投资18.5亿元，预计2026年底投产。",
    "11月8日上午，重庆市沙坪坝区举行重大项目集中签约活动，智能网联汽车零部件基地项目总投资约30亿元。",
    "今年以来，江苏省南通市新签约亿元以上项目60个，其中海上风电装备产业园项目计划投资120亿元。",
]


def _wait_up(url: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the service at {url} did not come up in {seconds:.0f} s")


def run(url: str, clients: int, seconds: float) -> dict:
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def client(k: int) -> None:
        with httpx.Client(timeout=120) as http:
            i = 0
            while time.monotonic() < stop:
                text = f"第{k}-{i}篇。" + ARTICLES[(k + i) % len(ARTICLES)]
                t = time.perf_counter()
                try:
                    r = http.post(url + "/v1/extract", json={"text": text, "pub_date": "2025-03-12"})
                    ok = r.status_code == 200 and r.json()["records"][0]["text"] == text
                    err = None if ok else f"HTTP {r.status_code}"
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    err = type(exc).__name__
                with lock:
                    latencies.append(time.perf_counter() - t)
                    if err:
                        errors.append(err)
                i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {"clients": clients, "seconds": round(wall, 1), "requests": len(lat), "errors": len(errors),
            "p50_s": round(statistics.median(lat), 3), "p95_s": round(lat[max(0, int(0.95 * len(lat)) - 1)], 3),
            "requests_per_s": round(len(lat) / wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--port", type=int, default=8766)
    ap.add_argument("--url", help="a running service on loopback (default: start one)")
    a = ap.parse_args()
    url = a.url or f"http://127.0.0.1:{a.port}"
    if urlparse(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests only target loopback addresses")
    proc = None
    if not a.url:
        env = {k: v for k, v in os.environ.items() if k != "ZHIE_API_TOKEN"} | {"HF_HUB_OFFLINE": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "zhie.cli", "serve", "--port", str(a.port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_up(url)
        print(run(url, a.clients, a.seconds))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()

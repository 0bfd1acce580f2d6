#!/usr/bin/env python3
"""Writes the example backtest data: one-minute bars for AAPL and MSFT over one
US session (09:30-16:00, labelled UTC for simplicity), a seeded random walk whose
trend turns halfway, so a moving-average crossover trades a few times.
Deterministic: the same files every run (python3 make_data.py)."""
import random

SESSION_START = 1764581400  # 2025-12-01T09:30:00Z
DAY = 86400
BARS_PER_SESSION = 390


def bars(symbol, start_price, seed, drift_by_session):
    rng = random.Random(seed)
    rows = []
    price = start_price
    for session, drift in enumerate(drift_by_session):
        t0 = SESSION_START + session * DAY
        for i in range(BARS_PER_SESSION):
            # the trend turns halfway through each session
            d = drift if i < BARS_PER_SESSION // 2 else -drift
            o = price
            c = max(1.0, o * (1.0 + d + rng.gauss(0.0, 0.0008)))
            h = max(o, c) * (1.0 + abs(rng.gauss(0.0, 0.0003)))
            lo = min(o, c) * (1.0 - abs(rng.gauss(0.0, 0.0003)))
            v = 2000 + int(rng.random() * 8000)
            rows.append((t0 + 60 * i, symbol, o, h, lo, c, v))
            price = c
    return rows


def write(path, rows):
    with open(path, "w") as f:
        f.write("time,symbol,open,high,low,close,volume\n")
        for t, s, o, h, lo, c, v in rows:
            iso = "%04d-%02d-%02dT%02d:%02d:00Z" % ((2025, 12, 1 + (t - SESSION_START) // DAY) +
                                                   divmod(((t % DAY) // 60), 60))
            f.write("%s,%s,%.2f,%.2f,%.2f,%.2f,%d\n" % (iso, s, o, h, lo, c, v))


write("aapl_1m.csv", bars("AAPL", 190.0, 7, [0.0004]))
write("msft_1m.csv", bars("MSFT", 410.0, 11, [-0.0003]))

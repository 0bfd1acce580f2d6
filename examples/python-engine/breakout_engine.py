#!/usr/bin/env python3
"""breakout, as an engine in another process: the same job as
examples/custom-engine (a trade above the last N trades of its symbol is a buy
signal, below them a sell signal), joining nautilusd's buses from Python.

Two transports (docs/sdk.md, "Engines in any language"):

  --redis URL      the buses are Redis (nautilusd --engine-bus redis://...):
                   read and write the streams directly (Debian's python3-redis)
  --control URL    any bus: NDJSON subscribe + publish over the control API
                   (the Python standard library only), with the daemon's token

Either way it publishes `trading_signal` on python.signal.<symbol>, a
heartbeat (`system_health` on system.heartbeat.<name>) every --heartbeat-ms so
an `external` engine section of that name shows its health in
`nautilus engine list`, and goes quiet while risk.state says HALTED.
"""
import argparse
import collections
import fnmatch
import json
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse

PRIORITY_LANE = {"flash_crash": "high", "urgent": "high", "critical": "high", "high": "high",
                 "normal": "normal", "low": "normal"}


class Breakout:
    """The strategy, transport-free: feed it trades and risk states."""

    def __init__(self, lookback):
        self.lookback = lookback
        self.windows = collections.defaultdict(collections.deque)
        self.halted = False
        self.trades = 0
        self.signals = 0
        self.held_back = 0
        self.lock = threading.Lock()

    def on_trade(self, payload):
        """A signal dict to publish, or None."""
        price, symbol = payload.get("price"), payload.get("symbol")
        if not isinstance(price, (int, float)) or not isinstance(symbol, str) or not symbol:
            return None
        with self.lock:
            self.trades += 1
            window = self.windows[symbol]
            side = None
            if len(window) == self.lookback:
                if price > max(window):
                    side = "buy"
                elif price < min(window):
                    side = "sell"
                window.popleft()
            window.append(price)
            if side is None:
                return None
            if self.halted:
                self.held_back += 1
                return None
            self.signals += 1
            return {"symbol": symbol, "side": side, "price": price}

    def on_risk_state(self, payload):
        state = payload.get("state")
        if isinstance(state, str) and state:
            with self.lock:
                changed = self.halted != (state == "HALTED")
                self.halted = state == "HALTED"
            if changed:
                print(f"risk {state}: {'no more signals' if self.halted else 'signals resume'}", flush=True)

    def metrics(self):
        with self.lock:
            return {"trades": self.trades, "signals": self.signals, "held_back": self.held_back,
                    "halted": self.halted, "symbols": len(self.windows)}


# --- Redis: the stream layout of docs/redis-layout.md ----------------------

def fnv1a32(text):
    h = 2166136261
    for b in text.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


class RedisBus:
    """One bus (marketdata or engine) on a Redis server."""

    def __init__(self, url, bus, prefix="nautilus", shards=4):
        import redis  # Debian: python3-redis
        self.r = redis.Redis.from_url(url, decode_responses=True)
        self.bus, self.prefix, self.shards = bus, prefix, shards
        self.node = random.getrandbits(64)
        self.last_ns = 0

    def stream(self, family, shard, lane):
        return f"{self.prefix}:{self.bus}:{{{family}.{shard}}}:{lane}"

    def message_id(self):
        # 32 hex digits: a strictly increasing ns stamp, then this writer's node.
        now = max(time.time_ns(), self.last_ns + 1)
        self.last_ns = now
        return f"{now:016x}{self.node:016x}"

    def publish(self, topic, mtype, payload, priority="normal", source=""):
        family = topic.split(".", 1)[0]
        key = self.stream(family, fnv1a32(topic) % self.shards if self.shards > 1 else 0, PRIORITY_LANE[priority])
        fields = {"topic": topic, "type": mtype, "priority": priority, "source": source,
                  "id": self.message_id(), "timestamp_ns": str(time.time_ns()), "payload": json.dumps(payload)}
        pipe = self.r.pipeline()
        pipe.xadd(key, fields, maxlen=1000000, approximate=True)
        pipe.sadd(f"{self.prefix}:{self.bus}:streams", key)  # so wildcard readers discover it
        pipe.execute()

    def subscribe(self, pattern, group, handler, stop):
        """Reads `pattern` (literal first segment) as consumer group `group`
        until `stop` is set; calls handler(topic, payload) for each match."""
        family = pattern.split(".", 1)[0]
        if any(c in family for c in "*?"):
            raise ValueError("this example reads patterns with a literal first segment")
        if not any(c in pattern for c in "*?"):
            shards = [fnv1a32(pattern) % self.shards if self.shards > 1 else 0]
        else:
            shards = range(self.shards)
        streams = [self.stream(family, s, lane) for lane in ("high", "normal") for s in shards]
        for key in streams:
            try:
                self.r.xgroup_create(key, group, id="$", mkstream=True)
            except Exception as e:  # BUSYGROUP: it exists (a restart), keep its position
                if "BUSYGROUP" not in str(e):
                    raise
        consumer = f"{socket.gethostname()}-{os.getpid()}-{random.getrandbits(32):08x}"
        while not stop.is_set():
            # High lanes are listed first, so they are read first.
            replies = self.r.xreadgroup(group, consumer, {k: ">" for k in streams}, count=1000, block=100)
            for key, entries in replies or []:
                for entry_id, f in entries:
                    topic = f.get("topic", "")
                    if fnmatch.fnmatchcase(topic, pattern):
                        try:
                            payload = json.loads(f.get("payload", "{}"))
                        except ValueError:
                            payload = None
                        if isinstance(payload, dict):
                            handler(topic, payload)
                    self.r.xack(key, group, entry_id)


# --- The control API: NDJSON subscribe and publish with a token ------------

class ControlBus:
    def __init__(self, url, token, bus):
        import http.client
        self.http = http.client
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.token, self.bus = token, bus

    def connection(self, timeout=None):
        return self.http.HTTPConnection(self.host, self.port, timeout=timeout)

    def publish(self, topic, mtype, payload, priority="normal", source=""):
        body = json.dumps({"topic": topic, "type": mtype, "priority": priority, "source": source,
                           "payload": payload})
        c = self.connection(timeout=10)
        c.request("POST", f"/api/v1/bus/{self.bus}/publish", body=body,
                  headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        r = c.getresponse()
        text = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError(f"publish {topic}: HTTP {r.status}: {text[:200]!r}")

    def subscribe(self, pattern, group, handler, stop):
        q = urllib.parse.urlencode({"pattern": pattern})
        # No read timeout: a quiet topic (risk.state) may say nothing for hours.
        # The reader threads are daemon threads, so stopping does not wait for them.
        c = self.connection(timeout=None)
        c.request("GET", f"/api/v1/bus/{self.bus}/subscribe?{q}", headers={"Authorization": f"Bearer {self.token}"})
        r = c.getresponse()
        if r.status != 200:
            raise RuntimeError(f"subscribe {pattern}: HTTP {r.status}: {r.read()[:200]!r}")
        print(f"subscribed to {pattern} on the {self.bus} bus", flush=True)
        while not stop.is_set():
            line = r.readline()
            if not line:
                break  # the daemon ended the stream
            m = json.loads(line)
            if isinstance(m.get("payload"), dict):
                handler(m["topic"], m["payload"])
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="pybreakout", help="engine name: the [engines.NAME] kind = \"external\" section")
    ap.add_argument("--lookback", type=int, default=5)
    ap.add_argument("--heartbeat-ms", type=int, default=1000)
    t = ap.add_mutually_exclusive_group(required=True)
    t.add_argument("--redis", metavar="URL", help="both buses on this Redis (or see --marketdata-redis)")
    t.add_argument("--control", metavar="URL", help="the control API, e.g. http://127.0.0.1:8001")
    ap.add_argument("--marketdata-redis", metavar="URL", help="the marketdata bus's Redis, if not --redis")
    ap.add_argument("--shards", type=int, default=4, help="the bus URL's shards= (default 4)")
    ap.add_argument("--token-file", help="control API token (default: $NAUTILUS_STATE_DIR/token)")
    a = ap.parse_args()

    if a.redis:
        md_bus = RedisBus(a.marketdata_redis or a.redis, "marketdata", shards=a.shards)
        engine_bus = RedisBus(a.redis, "engine", shards=a.shards)
    else:
        token_file = a.token_file or os.path.join(os.environ.get("NAUTILUS_STATE_DIR", "."), "token")
        with open(token_file) as f:
            token = f.read().strip()
        md_bus = ControlBus(a.control, token, "marketdata")
        engine_bus = ControlBus(a.control, token, "engine")

    strategy = Breakout(a.lookback)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def on_trade(topic, payload):
        s = strategy.on_trade(payload)
        if s:
            s["strategy"] = a.name
            engine_bus.publish(f"python.signal.{s['symbol']}", "trading_signal", s, source=a.name)

    def run(bus, pattern, handler):
        try:
            bus.subscribe(pattern, a.name, handler, stop)
        except Exception as e:  # one line, then the whole engine stops: its supervisor restarts it
            print(f"{a.name}: {pattern}: {e}", file=sys.stderr, flush=True)
            stop.set()

    readers = [threading.Thread(target=run, args=(engine_bus, "risk.state", lambda t, p: strategy.on_risk_state(p))),
               threading.Thread(target=run, args=(md_bus, "marketdata.real_time.trade.*", on_trade))]
    for r in readers:
        r.daemon = True
        r.start()

    sequence = 0
    while not stop.is_set():
        sequence += 1
        beat = {"engine": a.name, "sequence": sequence, "interval_ms": a.heartbeat_ms,
                "pid": os.getpid(), "metrics": strategy.metrics()}
        try:
            engine_bus.publish(f"system.heartbeat.{a.name}", "system_health", beat, priority="low", source=a.name)
        except Exception as e:
            print(f"{a.name}: heartbeat: {e}", file=sys.stderr, flush=True)
        stop.wait(a.heartbeat_ms / 1000)
    return 0


if __name__ == "__main__":
    sys.exit(main())

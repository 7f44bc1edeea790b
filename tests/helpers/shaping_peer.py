"""A scripted SMTP peer for the traffic shaping tests, on loopback, run in a background thread.
It records what a receiving site sees of a sender: every connection's open and close times (its
own clock, time.time()), each message's time (when it answered the end of data) with its
envelope, the connections open at once (a timeline, so a test asks for the peak over any span),
and whether the client ended a connection with QUIT. It can be told, at any time:
- max_open = K: a connection that makes more than K open at once is greeted with
  421 4.7.0 too many connections and closed (a "421 storm"); None: never;
- close_after = N: after the 250 to a connection's N-th message the peer closes it, as some big
  sites do, without a word; None: never;
- data_delay = seconds to wait before answering the end of data (so deliveries overlap).
Run with /usr/bin/python3."""

import asyncio
import threading
import time

from smtp_peers import free_port


def path_of(command):
    """the address in MAIL FROM:<a> or RCPT TO:<a>"""
    a, b = command.find("<"), command.find(">")
    return command[a + 1:b] if 0 <= a < b else ""


class Connection:
    def __init__(self, num, opened):
        self.num = num
        self.opened = opened
        self.closed = None          # time the peer saw it end
        self.refused = False        # greeted with 421 (too many open)
        self.quit = False           # the client said QUIT
        self.messages = []          # the times of its messages


class Message:
    def __init__(self, when, conn, sender, rcpts, data):
        self.time = when
        self.conn = conn            # Connection.num
        self.sender = sender
        self.rcpts = rcpts
        self.data = data

    def domains(self):
        return {r.rsplit("@", 1)[-1].lower() for r in self.rcpts}


class ShapingPeer:
    def __init__(self, host="127.0.0.1", port=None, max_open=None, close_after=None, data_delay=0.0):
        self.host = host
        self.port = port or free_port(host)
        self.max_open = max_open
        self.close_after = close_after
        self.data_delay = data_delay
        self.lock = threading.Lock()
        self.conns = []
        self.msgs = []
        self.open_now = 0
        self.timeline = [(time.time(), 0)]     # (time, connections open from then on)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the shaping peer did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._session, self.host, self.port))
        self.ready.set()
        self.loop.run_forever()

    def stop(self):
        if not self.thread.is_alive():
            return

        async def halt():
            self.server.close()
            tasks = [t for t in asyncio.all_tasks(self.loop) if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()
        asyncio.run_coroutine_threadsafe(halt(), self.loop)
        self.thread.join(5)

    # ---- what a test asks

    def messages(self, domain=None):
        """the messages taken (for one recipient domain), in order"""
        with self.lock:
            return [m for m in self.msgs if domain is None or domain.lower() in m.domains()]

    def times(self, domain=None):
        return [m.time for m in self.messages(domain)]

    def connections(self):
        with self.lock:
            return list(self.conns)

    def refused(self):
        """the connections greeted with 421"""
        return [c for c in self.connections() if c.refused]

    def peak(self, start=0.0, end=None):
        """the most connections open at once between start and end (times of time.time())"""
        end = time.time() if end is None else end
        with self.lock:
            line = list(self.timeline)
        best = 0
        for i, (t, n) in enumerate(line):
            nxt = line[i + 1][0] if i + 1 < len(line) else float("inf")
            if nxt > start and t <= end:
                best = max(best, n)
        return best

    # ---- the session

    def _count(self, delta):
        with self.lock:
            self.open_now += delta
            self.timeline.append((time.time(), self.open_now))
            return self.open_now

    async def _session(self, reader, writer):
        with self.lock:
            conn = Connection(len(self.conns), time.time())
            self.conns.append(conn)
        now_open = self._count(1)

        async def send(line):
            writer.write(line.encode() + b"\r\n")
            await writer.drain()
        try:
            if self.max_open is not None and now_open > self.max_open:
                conn.refused = True
                await send("421 4.7.0 too many connections, try again later")
                return
            await send("220 shaping-peer ESMTP")
            sender, rcpts = None, []
            while True:
                line = await reader.readline()
                if not line:
                    return
                text = line.decode(errors="replace").rstrip("\r\n")
                verb = text.split(" ")[0].split(":")[0].upper()
                if verb == "EHLO":
                    await send("250-shaping-peer\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250 8BITMIME")
                elif verb == "HELO":
                    await send("250 shaping-peer")
                elif verb == "MAIL":
                    sender, rcpts = path_of(text), []
                    await send("250 2.1.0 ok")
                elif verb == "RCPT":
                    rcpts.append(path_of(text))
                    await send("250 2.1.5 ok")
                elif verb == "RSET":
                    sender, rcpts = None, []
                    await send("250 2.0.0 ok")
                elif verb == "NOOP":
                    await send("250 2.0.0 ok")
                elif verb == "QUIT":
                    conn.quit = True
                    await send("221 2.0.0 bye")
                    return
                elif verb == "DATA":
                    await send("354 go ahead")
                    data = b""
                    while not data.endswith(b"\r\n.\r\n") and data != b".\r\n":
                        chunk = await reader.readline()
                        if not chunk:
                            return
                        data += chunk
                    if self.data_delay:
                        await asyncio.sleep(self.data_delay)
                    when = time.time()
                    with self.lock:
                        self.msgs.append(Message(when, conn.num, sender, rcpts, data))
                        conn.messages.append(when)
                    await send("250 2.0.0 taken")
                    sender, rcpts = None, []
                    if self.close_after is not None and len(conn.messages) >= self.close_after:
                        return
                else:
                    await send("502 5.5.2 not here")
        except (asyncio.CancelledError, ConnectionError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass
            conn.closed = time.time()
            self._count(-1)

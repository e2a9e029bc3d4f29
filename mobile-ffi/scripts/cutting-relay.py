#!/usr/bin/env python3
"""A TCP relay that cuts every connection after 150 000 bytes: even-numbered connections
counting upstream bytes, odd ones downstream (stdlib only). Used by kotlin-test.sh to run the
attachment test over a link that drops in the middle of uploads and fetches.

    cutting-relay.py TARGET_HOST:PORT   prints `relay on http://127.0.0.1:PORT`, then serves
"""

import socket
import sys
import threading

LIMIT = 150_000


def pump(src, dst, counted, state):
    try:
        while True:
            data = src.recv(16384)
            if not data:
                break
            if counted:
                room = LIMIT - state["n"]
                if len(data) >= room:
                    dst.sendall(data[:max(room, 0)])
                    break
                state["n"] += len(data)
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print("relay on http://127.0.0.1:%d" % listener.getsockname()[1], flush=True)
    i = 0
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        state = {"n": 0}
        up = i % 2 == 0
        threading.Thread(target=pump, args=(client, upstream, up, state), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client, not up, state), daemon=True).start()
        i += 1


if __name__ == "__main__":
    main()

"""What the raw-socket bench clients share (sse_client.py, ws_echo_client.py): open a
connection, send a request and read its response head."""
import socket


def request_head(host, port, request, status):
    """Connects, sends `request` (bytes) and reads up to the end of the response head, which
    must start with `status` (e.g. b"HTTP/1.1 200"). Returns the socket and the bytes that
    came after the head. Raises OSError if the server closes or answers otherwise."""
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(request)
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            s.close()
            raise OSError("closed before the response head")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(status):
        s.close()
        raise OSError("answered " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
    return s, rest

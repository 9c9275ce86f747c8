"""Event streams as Flask apps write them (the idioms of Flask's own docs and of most tutorials):
a generator of `data: ...\n\n` strings in a `text/event-stream` Response, on Werkzeug's server.
Prints `listening on http://127.0.0.1:PORT` once it accepts connections."""
import json
import sys
import time

from flask import Flask, Response, request, stream_with_context
from werkzeug.serving import make_server

app = Flask(__name__)
requests_seen = []


def sse(data, event=None, id=None):
    out = ""
    if id is not None:
        out += f"id: {id}\n"
    if event is not None:
        out += f"event: {event}\n"
    for line in str(data).split("\n"):
        out += f"data: {line}\n"
    return out + "\n"


@app.post("/chat")
def chat():
    body = request.get_json()
    requests_seen.append({"path": "/chat", "body": body})

    def tokens():
        for token in ["Hello", ", ", "wörld", " 👋", "!"]:
            yield f"data: {json.dumps({'token': token})}\n\n"
            time.sleep(0.005)

    return Response(stream_with_context(tokens()), mimetype="text/event-stream")


@app.route("/shapes", methods=["GET", "POST"])
def shapes():
    """Every shape the spec allows, as hand-written servers produce them."""
    requests_seen.append({"path": "/shapes"})

    def events():
        yield ": a comment first\n\n"
        yield "retry: 2500\n\n"
        yield "event: status\ndata: starting\n\n"
        yield "data:no space after the colon\n\n"
        yield "data: line one\ndata: line two\n\n"
        yield "data: crlf\r\n\r\n"
        yield "id: 7\ndata: with an id\n\n"
        yield "data\n\n"
        yield "event: done\ndata: {}\n\n"

    return Response(events(), mimetype="text/event-stream")


@app.post("/resumable")
def resumable():
    """Ids on every event; the first response is cut after id 2 (the worker dies), a request with
    Last-Event-ID continues after it."""
    last = request.headers.get("Last-Event-ID")
    requests_seen.append({"path": "/resumable", "last_event_id": last, "body": request.get_json()})
    start = int(last) + 1 if last else 1

    def events():
        for index in range(start, 6):
            yield sse(f"part {index}", id=index)
            if last is None and index == 2:
                raise RuntimeError("the worker died")  # the connection is cut mid-body

    return Response(stream_with_context(events()), mimetype="text/event-stream")


@app.post("/cut")
def cut():
    """No ids: a cut after two events cannot be resumed."""
    requests_seen.append({"path": "/cut"})

    def events():
        yield sse("one")
        yield sse("two")
        raise RuntimeError("the worker died")

    return Response(stream_with_context(events()), mimetype="text/event-stream")


@app.get("/requests")
def seen():
    return Response(json.dumps(requests_seen), mimetype="application/json")


if __name__ == "__main__":
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()

"""Event streams as FastAPI apps write them: an async generator in a StreamingResponse with the
`text/event-stream` media type, served by uvicorn. Prints `listening on http://127.0.0.1:PORT`."""
import asyncio
import json
import socket

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
requests_seen = []


@app.post("/chat")
async def chat(request: Request):
    body = await request.json()
    requests_seen.append({"path": "/chat", "body": body})

    async def tokens():
        for token in ["Hello", ", ", "wörld", " 👋", "!"]:
            yield f"data: {json.dumps({'token': token}, ensure_ascii=False)}\n\n"
            await asyncio.sleep(0.005)
        yield "data: [DONE]\n\n"

    return StreamingResponse(tokens(), media_type="text/event-stream")


@app.post("/resumable")
async def resumable(request: Request):
    last = request.headers.get("last-event-id")
    requests_seen.append({"path": "/resumable", "last_event_id": last, "body": await request.json()})
    start = int(last) + 1 if last else 1

    async def events():
        for index in range(start, 6):
            yield f"id: {index}\r\ndata: part {index}\r\n\r\n"
            await asyncio.sleep(0.005)
            if last is None and index == 2:
                raise RuntimeError("the worker died")

    return StreamingResponse(events(), media_type="text/event-stream")


@app.post("/cut")
async def cut(request: Request):
    requests_seen.append({"path": "/cut"})

    async def events():
        yield "data: one\n\n"
        yield "data: two\n\n"
        await asyncio.sleep(0.005)
        raise RuntimeError("the worker died")

    return StreamingResponse(events(), media_type="text/event-stream")


@app.get("/requests")
async def seen():
    return JSONResponse(requests_seen)


if __name__ == "__main__":
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical")
    server = uvicorn.Server(config)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    server.run(sockets=[sock])

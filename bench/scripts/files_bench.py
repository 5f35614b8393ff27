#!/usr/bin/env python3
"""File benchmarks for EdgeBase, with PocketBase side by side where it has the feature. Each
server starts fresh in a temp dir; standard library only; one client, requests one after
another (latency, not throughput under load). Prints Markdown tables.

  single   1 KB and 1 MB uploads and downloads: one EdgeBase node, then PocketBase
  cluster  the same on three EdgeBase nodes: uploads at the leader and at a follower,
           downloads at each node once it holds the file
  thumbs   a 100x100 thumb of a 1600x1200 PNG: first request (rendered) and later (cached),
           one EdgeBase node and PocketBase
  memory   one 1 GiB upload: time and the server's peak resident memory (VmHWM) before and
           after, one EdgeBase node and PocketBase
  all      every one of the above

Usage: bench/scripts/files_bench.py EDGEBASE_BIN POCKETBASE_BIN [single|cluster|thumbs|memory|all] [COUNT]
"""
import http.client, json, os, shutil, socket, statistics, struct, subprocess, sys, tempfile, time
import urllib.request, zlib

EMAIL, PASSWORD = "bench@example.com", "bench-password-1"
GIB = 1 << 30

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=120) as response:
        return response.status, response.read()

def wait_for(what, probe, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if probe():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gave up waiting for {what}")

def wait_healthy(base):
    wait_for(f"{base} to be healthy", lambda: request("GET", base + "/api/health")[0] == 200)

def multipart(name, filename, content):
    boundary = "bench-boundary-5d1f"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"

def login(base):
    _, answer = request("POST", base + "/api/collections/_superusers/auth-with-password",
                        json.dumps({"identity": EMAIL, "password": PASSWORD}).encode(),
                        {"Content-Type": "application/json"})
    return json.loads(answer)["token"]

def create_collection(base, token, max_size, thumbs=(), name="bench"):
    request("POST", base + "/api/collections", json.dumps({
        "name": name, "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "f", "type": "file", "maxSize": max_size, "thumbs": list(thumbs)}]}).encode(),
        {"Content-Type": "application/json", "Authorization": token})

def upload(base, content, filename="blob.bin", collection="bench"):
    body, content_type = multipart("f", filename, content)
    _, answer = request("POST", f"{base}/api/collections/{collection}/records", body, {"Content-Type": content_type})
    record = json.loads(answer)
    return record["id"], record["f"]

class Servers:
    """Processes started by one benchmark, stopped (and their directory removed) at the end."""
    def __init__(self, edgebase, pocketbase):
        self.edgebase, self.pocketbase = edgebase, pocketbase
        self.root = tempfile.mkdtemp(prefix="files-bench-")
        self.log = open(os.path.join(self.root, "servers.log"), "w")
        self.processes = []

    def run(self, *args):
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self, *args):
        process = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        self.processes.append(process)
        return process

    def pocketbase_node(self):
        port, data = free_port(), os.path.join(self.root, "pb")
        self.run(self.pocketbase, "superuser", "upsert", EMAIL, PASSWORD, "--dir", data)
        process = self.start(self.pocketbase, "serve", "--dir", data, "--http", f"127.0.0.1:{port}")
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base)
        return base, process

    def edgebase_nodes(self, size):
        """`size` EdgeBase nodes (a cluster with mutual TLS when more than one); their URLs and
        processes, node 1 first, each a voter before the next starts."""
        ca = os.path.join(self.root, "ca")
        if size > 1:
            self.run(self.edgebase, "certs", "ca", "--out", ca)
        bases, processes, first_raft, token = [], [], None, None
        for node in range(1, size + 1):
            node_dir = os.path.join(self.root, f"eb{node}")
            data = os.path.join(node_dir, "data")
            http_port, raft_port = free_port(), free_port()
            args = [self.edgebase, "serve", "--dir", data, "--http", f"127.0.0.1:{http_port}",
                    "--raft", f"127.0.0.1:{raft_port}", "--region", "bench"]
            if size > 1:
                certs = os.path.join(node_dir, "certs")
                self.run(self.edgebase, "certs", "node", "--ca", ca, "--node-id", str(node),
                         "--host", "127.0.0.1", "--out", certs)
                args += ["--certs", certs]
            if first_raft:
                args += ["--join", f"127.0.0.1:{first_raft}"]
            elif size == 1:
                self.run(self.edgebase, "superuser", "upsert", EMAIL, PASSWORD, "--dir", data)
            processes.append(self.start(*args))
            base = f"http://127.0.0.1:{http_port}"
            wait_healthy(base)
            bases.append(base)
            if size > 1 and node == 1:
                first_raft = raft_port
                self.run(self.edgebase, "superuser", "upsert", EMAIL, PASSWORD, "--dir", data)
                token = login(base)
            if size > 1:
                def voters(count=node):
                    _, answer = request("GET", bases[0] + "/api/cluster/status", headers={"Authorization": token})
                    status = json.loads(answer)
                    ready = [m for m in status["members"] if m["role"].lower() == "voter" and m["reachable"]]
                    return len(ready) == count and status.get("leaderId")
                wait_for(f"node {node} to be a voter", voters)
        return bases, processes

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result

def upload_download_rows(label, upload_base, download_bases, count, wait_everywhere=False, collection="bench"):
    token = login(upload_base)
    create_collection(upload_base, token, 2_000_000, name=collection)
    rows = []
    for size in (1024, 1024 * 1024):
        content = os.urandom(size)
        uploads, files = [], []
        for _ in range(count):
            elapsed, made = timed(lambda: upload(upload_base, content, collection=collection))
            uploads.append(elapsed)
            files.append(made)
        rows.append((label, "upload", size, count / sum(uploads), statistics.median(uploads) * 1000))
        for at, base in download_bases:
            if wait_everywhere:
                # Read each file once first: every node holds it before downloads are timed.
                for record_id, name in files:
                    wait_for("the file at every node", lambda: request("GET", f"{base}/api/files/{collection}/{record_id}/{name}")[0] == 200)
            downloads = []
            for record_id, name in files:
                elapsed, (status, got) = timed(lambda: request("GET", f"{base}/api/files/{collection}/{record_id}/{name}"))
                assert status == 200 and got == content
                downloads.append(elapsed)
            rows.append((f"{label}{at}", "download", size, count / sum(downloads), statistics.median(downloads) * 1000))
    return rows

def print_rate_table(rows):
    print("| server | operation | file | req/s | p50 ms |")
    print("|---|---|---|---|---|")
    for label, what, size, rate, p50 in rows:
        print(f"| {label} | {what} | {'1 KB' if size == 1024 else '1 MB'} | {rate:.0f} | {p50:.1f} |")
    print()

def bench_single(servers, count):
    (eb,), _ = servers.edgebase_nodes(1)
    pb, _ = servers.pocketbase_node()
    rows = upload_download_rows("EdgeBase", eb, [("", eb)], count)
    rows += upload_download_rows("PocketBase", pb, [("", pb)], count)
    print_rate_table(rows)

def bench_cluster(servers, count):
    bases, _ = servers.edgebase_nodes(3)
    token = login(bases[0])
    _, answer = request("GET", bases[0] + "/api/cluster/status", headers={"Authorization": token})
    leader = json.loads(answer)["leaderId"]
    leader_base = bases[leader - 1]
    followers = [base for base in bases if base != leader_base]
    # Uploads at the leader, then (a second collection) at a follower; downloads at each node.
    rows = upload_download_rows("EdgeBase 3 nodes, upload at leader", leader_base,
                                [(", download at leader", leader_base)] +
                                [(f", download at follower {i + 1}", f) for i, f in enumerate(followers)],
                                count, wait_everywhere=True)
    rows += upload_download_rows("EdgeBase 3 nodes, upload at follower", followers[0], [], count, collection="bench_follower")
    print_rate_table(rows)

PNG_CACHE = {}

def png(width, height):
    """A `width` x `height` RGB PNG of a smooth pattern (decoding cost is per pixel)."""
    if (width, height) in PNG_CACHE:
        return PNG_CACHE[(width, height)]
    raw = bytearray()
    for y in range(height):
        raw.append(0)
        raw.extend(bytes(((x * 7) & 255, (y * 3) & 255, ((x + y) * 5) & 255)[c] for x in range(width) for c in range(3)))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    PNG_CACHE[(width, height)] = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                                  + chunk(b"IDAT", zlib.compress(bytes(raw), 6)) + chunk(b"IEND", b""))
    return PNG_CACHE[(width, height)]

def thumb_rows(label, base, count):
    token = login(base)
    create_collection(base, token, 20_000_000, thumbs=["100x100"])
    image = png(1600, 1200)
    # Bytes after IEND make each file (and so each content-addressed blob) distinct, so every
    # first request renders; decoders ignore them.
    files = [upload(base, image + os.urandom(16), "photo.png") for _ in range(count)]
    first, cached = [], []
    for record_id, name in files:
        url = f"{base}/api/files/bench/{record_id}/{name}?thumb=100x100"
        elapsed, (status, got) = timed(lambda: request("GET", url))
        assert status == 200 and got.startswith(b"\x89PNG")
        first.append(elapsed)
        for _ in range(5):
            elapsed, (status, _) = timed(lambda: request("GET", url))
            cached.append(elapsed)
    return [(label, "first (rendered)", len(first), statistics.median(first) * 1000, max(first) * 1000),
            (label, "cached", len(cached), statistics.median(cached) * 1000, max(cached) * 1000)]

def bench_thumbs(servers, count):
    (eb,), _ = servers.edgebase_nodes(1)
    pb, _ = servers.pocketbase_node()
    rows = thumb_rows("EdgeBase", eb, count) + thumb_rows("PocketBase", pb, count)
    print(f"100x100 thumb of a 1600x1200 PNG ({len(png(1600, 1200)) // 1024} KiB):\n")
    print("| server | request | samples | p50 ms | max ms |")
    print("|---|---|---|---|---|")
    for label, what, samples, p50, worst in rows:
        print(f"| {label} | {what} | {samples} | {p50:.1f} | {worst:.1f} |")
    print()

def peak_rss_mib(process):
    with open(f"/proc/{process.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")

def streamed_upload(base, size):
    """One multipart upload of `size` bytes, sent in 1 MiB pieces (never whole in memory)."""
    boundary = "bench-boundary-5d1f"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"f\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    piece = os.urandom(1 << 20)
    host = base.removeprefix("http://")
    connection = http.client.HTTPConnection(host, timeout=600)
    connection.putrequest("POST", "/api/collections/bench/records")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(len(head) + size + len(tail)))
    connection.endheaders()
    connection.send(head)
    sent = 0
    while sent < size:
        part = piece[: min(len(piece), size - sent)]
        connection.send(part)
        sent += len(part)
    connection.send(tail)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    assert response.status == 200, (response.status, body[:300])

def memory_row(label, base, process):
    token = login(base)
    create_collection(base, token, GIB + (1 << 20))
    before = peak_rss_mib(process)
    elapsed, _ = timed(lambda: streamed_upload(base, GIB))
    after = peak_rss_mib(process)
    return label, elapsed, before, after

def bench_memory(servers, _count):
    (eb,), (eb_process,) = servers.edgebase_nodes(1)
    pb, pb_process = servers.pocketbase_node()
    rows = [memory_row("EdgeBase", eb, eb_process), memory_row("PocketBase", pb, pb_process)]
    print("| server | 1 GiB upload, s | MiB/s | peak RSS before, MiB | peak RSS after, MiB |")
    print("|---|---|---|---|---|")
    for label, elapsed, before, after in rows:
        print(f"| {label} | {elapsed:.1f} | {1024 / elapsed:.0f} | {before:.0f} | {after:.0f} |")
    print()

BENCHES = {"single": bench_single, "cluster": bench_cluster, "thumbs": bench_thumbs, "memory": bench_memory}

def main():
    edgebase, pocketbase = sys.argv[1], sys.argv[2]
    which = sys.argv[3] if len(sys.argv) > 3 else "single"
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    for name in (BENCHES if which == "all" else [which]):
        print(f"### {name}\n")
        servers = Servers(edgebase, pocketbase)
        try:
            BENCHES[name](servers, count if name != "thumbs" else max(1, count // 10))
        finally:
            servers.stop()

if __name__ == "__main__":
    main()

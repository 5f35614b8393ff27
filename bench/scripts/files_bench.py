#!/usr/bin/env python3
"""Uploads and downloads of 1 KB and 1 MB files against one EdgeBase node and one PocketBase,
side by side, each started fresh in a temp dir. Standard library only; one client, requests one
after another (latency, not throughput under load). Prints a Markdown table.

Usage: bench/scripts/files_bench.py EDGEBASE_BIN POCKETBASE_BIN [COUNT]
"""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, time, urllib.request

EMAIL, PASSWORD = "bench@example.com", "bench-password-1"

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def request(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as response:
        return response.status, response.read()

def wait_healthy(base):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if request("GET", base + "/api/health")[0] == 200:
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{base} never became healthy")

def multipart(name, filename, content):
    boundary = "bench-boundary-5d1f"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"

def run(label, base, count):
    _, answer = request("POST", base + "/api/collections/_superusers/auth-with-password",
                        json.dumps({"identity": EMAIL, "password": PASSWORD}).encode(),
                        {"Content-Type": "application/json"})
    token = json.loads(answer)["token"]
    request("POST", base + "/api/collections", json.dumps({
        "name": "bench", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "f", "type": "file", "maxSize": 2_000_000}]}).encode(),
        {"Content-Type": "application/json", "Authorization": token})
    rows = []
    for size in (1024, 1024 * 1024):
        content = os.urandom(size)
        body, content_type = multipart("f", "blob.bin", content)
        uploads, downloads, urls = [], [], []
        for _ in range(count):
            start = time.perf_counter()
            status, answer = request("POST", base + "/api/collections/bench/records", body,
                                     {"Content-Type": content_type})
            uploads.append(time.perf_counter() - start)
            record = json.loads(answer)
            urls.append(f"{base}/api/files/bench/{record['id']}/{record['f']}")
        for url in urls:
            start = time.perf_counter()
            status, got = request("GET", url)
            downloads.append(time.perf_counter() - start)
            assert status == 200 and got == content
        for what, times in (("upload", uploads), ("download", downloads)):
            rows.append((label, what, size, count / sum(times), statistics.median(times) * 1000))
    return rows

def main():
    edgebase, pocketbase = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    root = tempfile.mkdtemp(prefix="files-bench-")
    processes, rows = [], []
    try:
        eb_port, pb_port = free_port(), free_port()
        eb_dir, pb_dir = os.path.join(root, "eb"), os.path.join(root, "pb")
        subprocess.run([edgebase, "superuser", "upsert", EMAIL, PASSWORD, "--dir", eb_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run([pocketbase, "superuser", "upsert", EMAIL, PASSWORD, "--dir", pb_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        log = open(os.path.join(root, "servers.log"), "w")
        processes.append(subprocess.Popen([edgebase, "serve", "--dir", eb_dir, "--http", f"127.0.0.1:{eb_port}"], stdout=log, stderr=log))
        processes.append(subprocess.Popen([pocketbase, "serve", "--dir", pb_dir, "--http", f"127.0.0.1:{pb_port}"], stdout=log, stderr=log))
        for label, port in (("EdgeBase", eb_port), ("PocketBase", pb_port)):
            wait_healthy(f"http://127.0.0.1:{port}")
            rows += run(label, f"http://127.0.0.1:{port}", count)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)
    print("| server | operation | file | req/s | p50 ms |")
    print("|---|---|---|---|---|")
    for label, what, size, rate, p50 in rows:
        print(f"| {label} | {what} | {'1 KB' if size == 1024 else '1 MB'} | {rate:.0f} | {p50:.1f} |")

if __name__ == "__main__":
    main()

"""What the schema validators cannot see in the deployment files.

    python3 tests/deploy/structure.py DEPLOY_DIR SCRIPTS_OUT_DIR

Checks the Dockerfile's shape (multi-stage, pinned base images, a numeric non-root user),
that the Kubernetes objects refer to each other correctly (selectors, the headless Service,
probes on the health endpoints, the ConfigMap and Secret), and that the compose nodes agree
with their network addresses. Writes the shell scripts embedded in the compose file and the
ConfigMaps to SCRIPTS_OUT_DIR for shellcheck. Prints each check; exits 1 if any fails.
"""

import re
import shlex
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

failures = []


def check(ok, what):
    print(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        failures.append(what)


def dockerfile(path):
    parser = DockerfileParser(path=str(path))
    stages, user = [], None
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            stages.append(instruction["value"].split())
            user = None
        elif instruction["instruction"] == "USER":
            user = instruction["value"].strip()
    check(len(stages) >= 2, "Dockerfile: multi-stage (build, then runtime)")
    for words in stages:
        image = words[0]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else None
        check(tag not in (None, "latest"), f"Dockerfile: base image {image} has a fixed tag")
    check(user is not None and re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user) is not None,
          f"Dockerfile: final stage runs as a numeric non-root USER (found {user})")
    check(any("--from=" in i["value"] for i in parser.structure if i["instruction"] == "COPY"),
          "Dockerfile: runtime stage copies the binary from the build stage")
    check("--locked" in parser.content, "Dockerfile: cargo build --locked")


def kubernetes(folder, scripts_out):
    objects = {}
    for path in sorted(folder.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            objects[(document["kind"], document["metadata"]["name"])] = document
    of_kind = lambda wanted: {name: o for (kind, name), o in objects.items() if kind == wanted}
    sets = list(of_kind("StatefulSet").values())
    check(len(sets) == 1, "kubernetes: one StatefulSet")
    if len(sets) != 1:
        return
    spec = sets[0]["spec"]
    replicas = spec["replicas"]
    labels = spec["template"]["metadata"]["labels"]

    def selects(selector):
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

    check(selects(spec["selector"]["matchLabels"]), "StatefulSet: selector matches its pods")
    peers = of_kind("Service").get(spec["serviceName"], {}).get("spec", {})
    check(peers.get("clusterIP") == "None",
          f"StatefulSet: serviceName {spec['serviceName']} is a headless Service")
    check(peers.get("publishNotReadyAddresses") is True,
          "headless Service publishes pods before they are ready (start script looks them up)")
    for name, service in of_kind("Service").items():
        check(selects(service["spec"]["selector"]), f"Service {name}: selects the pods")
    budgets = of_kind("PodDisruptionBudget")
    check(len(budgets) == 1, "kubernetes: a PodDisruptionBudget")
    for name, budget in budgets.items():
        check(selects(budget["spec"]["selector"]["matchLabels"]),
              f"PodDisruptionBudget {name}: selects the pods")
        # Voluntary disruptions must leave a quorum: replicas - maxUnavailable > replicas / 2.
        down = budget["spec"].get("maxUnavailable", 0)
        check(isinstance(down, int) and 0 < down and replicas - down > replicas // 2,
              f"PodDisruptionBudget {name}: {down} down of {replicas} keeps a quorum")
    for name, config in of_kind("ConfigMap").items():
        for key, script in config.get("data", {}).items():
            if key.endswith(".sh"):
                (scripts_out / f"configmap-{name}-{key}").write_text(script)

    pod = spec["template"]["spec"]
    check(pod.get("terminationGracePeriodSeconds", 30) >= 30,
          "pods get 30 s to stop (SIGTERM hands leadership over)")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pods run as non-root")
    container = pod["containers"][0]
    probe = lambda name: container.get(name, {}).get("httpGet", {}).get("path")
    check(probe("livenessProbe") == "/api/health", "liveness probe on /api/health")
    check(probe("readinessProbe") == "/api/health/ready", "readiness probe on /api/health/ready")
    check(probe("startupProbe") == "/api/health", "startup probe on /api/health (joins take time)")
    image = container["image"]
    check(":" in image and not image.endswith(":latest"), f"image {image} has a fixed tag")
    volumes = {volume["name"]: volume for volume in pod.get("volumes", [])}
    for name, volume in volumes.items():
        if "configMap" in volume:
            config = volume["configMap"]["name"]
            check(config in of_kind("ConfigMap"), f"volume {name}: ConfigMap {config} is defined")
    check(any("secret" in volume for volume in volumes.values()), "certificates from a Secret")
    claims = {claim["metadata"]["name"] for claim in spec.get("volumeClaimTemplates", [])}
    mounts = {mount["name"] for mount in container.get("volumeMounts", [])}
    check(mounts <= set(volumes) | claims, "every volume mount has a volume or claim")
    check(bool(claims & mounts), "data on a per-pod PersistentVolumeClaim")


def compose(path, scripts_out):
    services = yaml.safe_load(path.read_text())["services"]
    nodes = {}
    for name, service in services.items():
        command = service.get("command", [])
        if "entrypoint" in service:
            # `bash -euc SCRIPT`: keep the shell's options, so shellcheck sees what bash runs.
            script = "\n".join(command) if isinstance(command, list) else command
            options = "".join(w[1:] for w in service["entrypoint"][1:] if w.startswith("-"))
            options = options.replace("c", "")
            header = "#!/bin/bash\n" + (f"set -{options}\n" if options else "")
            (scripts_out / f"compose-{name}.sh").write_text(header + script.replace("$$", "$"))
            continue
        words = command if isinstance(command, list) else shlex.split(command)
        args = dict(zip(words, words[1:]))
        nodes[name] = args
        check("healthcheck" in service and "stop_grace_period" in service,
              f"compose {name}: a healthcheck and a stop grace period")
        address = next(iter(service.get("networks", {}).values()), {}).get("ipv4_address")
        own = args.get("--raft", "")
        check(own.split(":")[0] == address,
              f"compose {name}: --raft {own} is the container's fixed address {address}")
    check(len(nodes) == 3, f"compose: three nodes ({', '.join(nodes)})")
    ids = [args.get("--node-id") for args in nodes.values()]
    check(None not in ids and len(set(ids)) == len(ids), f"compose: distinct --node-id {ids}")
    raft = {args.get("--raft") for args in nodes.values()}
    starters = [n for n, args in nodes.items() if "--join" not in args]
    check(len(starters) == 1, f"compose: exactly one node starts the cluster ({starters})")
    for name, args in nodes.items():
        if "--join" in args:
            check(args["--join"] in raft - {args.get("--raft")},
                  f"compose {name}: --join {args['--join']} is another node's --raft address")


def main():
    deploy, scripts_out = Path(sys.argv[1]), Path(sys.argv[2])
    scripts_out.mkdir(parents=True, exist_ok=True)
    dockerfile(deploy / "Dockerfile")
    kubernetes(deploy / "kubernetes", scripts_out)
    compose(deploy / "docker-compose.yml", scripts_out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""What the schema validators cannot see in the deployment files.

    python3 tests/deploy/structure.py DEPLOY_DIR SCRIPTS_OUT_DIR

Checks the Dockerfile's shape (multi-stage, pinned base images, a numeric non-root user),
that the Kubernetes objects refer to each other correctly (selectors, the headless Service,
probes on the health endpoints, the ConfigMap and Secret), that the pods are on the pod
network and advertise their names under the headless Service (the start script's `edgebase
serve` flags, with the StatefulSet's environment expanded as Kubernetes does), and that the
compose nodes advertise addresses their peers reach. Writes the shell scripts embedded in
the compose file and the ConfigMaps to SCRIPTS_OUT_DIR for shellcheck. Prints each check;
exits 1 if any fails.
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


# What the downward API fields stand for once expanded (symbolic: they differ per pod).
FIELDS = {"metadata.name": "{pod}", "metadata.namespace": "{namespace}",
          "status.podIP": "{pod-ip}"}


def container_env(container):
    """The container's environment as Kubernetes builds it: in order, `$(NAME)` expanded when
    NAME is defined above it, downward API fields as the symbols of FIELDS."""
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]),
                                      str(var["value"]))
        else:
            field = var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            env[var["name"]] = FIELDS.get(field, f"{{{field}}}")
    return env


def expand(word, env):
    """`$NAME` and `${NAME}` in a script's word, from env; other expansions stay as they are."""
    return re.sub(r"\$(?:\{(\w+)\}|(\w+))",
                  lambda m: env.get(m[1] or m[2], m[0]), word)


def serve_commands(script):
    """The words after `edgebase serve` in each command of the script that runs it."""
    for line in re.sub(r"\\\n", " ", script).splitlines():
        if "edgebase serve" not in line or line.lstrip().startswith("#"):
            continue
        words = shlex.split(line, comments=True)
        for at in range(len(words) - 1):
            if words[at] == "edgebase" and words[at + 1] == "serve":
                yield words[at + 2:]


def flag_values(words, flag):
    return [value for name, value in zip(words, words[1:]) if name == flag]


def start_script(container, service, scripts):
    """The pod network: listen on every address, advertise the pod's name under the
    headless Service, join pods by that name, and read only variables the pod sets."""
    env = container_env(container)
    ports = {port.get("name"): port["containerPort"] for port in container.get("ports", [])}
    command = " ".join(map(str, container.get("command", []) + container.get("args", [])))
    runs = [script for name, script in scripts.items() if name in command]
    check(len(runs) == 1, "the container runs a start script from a ConfigMap")
    if len(runs) != 1:
        return
    script = runs[0]
    serves = list(serve_commands(script))
    check(len(serves) == 1, "start script: one `edgebase serve` command")
    if len(serves) != 1:
        return
    words = [expand(word, env) for word in serves[0]]
    for flag, port in (("--http", ports.get("http")), ("--raft", ports.get("raft"))):
        check(flag_values(words, flag) == [f"0.0.0.0:{port}"],
              f"start script: {flag} {flag_values(words, flag)} listens on 0.0.0.0:{port}, "
              "the container port")
    # The pod's own name under the headless Service, fully qualified: svc.<cluster domain>.
    own = re.escape(f"{{pod}}.{service}.{{namespace}}.svc.") + r"[a-z0-9-]+(\.[a-z0-9-]+)*"
    for flag, port in (("--advertise-raft", ports.get("raft")),
                       ("--advertise-http", ports.get("http"))):
        values = flag_values(words, flag)
        check(len(values) == 1 and re.fullmatch(f"{own}:{port}", values[0]) is not None,
              f"start script: {flag} {values} advertises the pod's name under the headless "
              f"Service {service} ({{pod}}.{service}.{{namespace}}.svc...:{port})")
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    joins = [expand(word.strip("\"')"), env) for word in re.findall(r"--join\s+(\S+)", code)]
    fallback = re.escape(f"-0.{service}.{{namespace}}.svc.") + r"[a-z0-9.-]+"
    check(any(re.search(f"{fallback}:{ports.get('raft')}$", join) for join in joins),
          f"start script: joins pod 0 by its name under {service} on a first start "
          f"(--join targets: {joins})")
    assigned = set(re.findall(r"^\s*(?:local\s+)?(\w+)=", script, re.MULTILINE))
    assigned |= set(re.findall(r"\bfor\s+(\w+)\s+in\b", script))
    read = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", script)) - assigned
    check(read <= set(env), f"start script: every variable it reads is set in the pod's env "
          f"(not set: {sorted(read - set(env))})")


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
    scripts = {}
    for name, config in of_kind("ConfigMap").items():
        for key, script in config.get("data", {}).items():
            if key.endswith(".sh"):
                (scripts_out / f"configmap-{name}-{key}").write_text(script)
                scripts[key] = script

    pod = spec["template"]["spec"]
    # Pod IPs change; the pods are known by name, so nothing of the host is needed.
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        check(not pod.get(field), f"pods do not use {field}")
    check(not any("hostPort" in port for c in pod["containers"] for port in c.get("ports", [])),
          "no host ports")
    check(not any("hostPath" in volume for volume in pod.get("volumes", [])),
          "no hostPath volumes")
    check(pod.get("terminationGracePeriodSeconds", 30) >= 30,
          "pods get 30 s to stop (SIGTERM hands leadership over)")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pods run as non-root")
    container = pod["containers"][0]
    # The rest of Pod Security's `restricted` level (deploy/README.md claims it).
    seccomp = pod.get("securityContext", {}).get("seccompProfile", {}).get("type")
    check(seccomp == "RuntimeDefault", "pods use the runtime's default seccomp profile")
    for each in pod["containers"] + pod.get("initContainers", []):
        context = each.get("securityContext", {})
        check(context.get("allowPrivilegeEscalation") is False
              and context.get("capabilities", {}).get("drop") == ["ALL"],
              f"container {each['name']}: no privilege escalation, every capability dropped")
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
    start_script(container, spec["serviceName"], scripts)


def compose(path, scripts_out):
    services = yaml.safe_load(path.read_text())["services"]
    nodes, dialled = {}, {}
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
        # Peers dial --advertise-raft (else --raft): a name Docker's DNS gives this container,
        # or the container's fixed address; on the port --raft listens on.
        own = args.get("--raft", "")
        advertised = args.get("--advertise-raft", own)
        networks = service.get("networks", {})
        networks = networks.values() if isinstance(networks, dict) else []
        fixed = {n.get("ipv4_address") for n in networks if n} - {None}
        names = {name, service.get("container_name")} - {None}
        names |= {alias for n in networks if n for alias in n.get("aliases", [])}
        host, _, port = advertised.rpartition(":")
        check(port == own.rpartition(":")[2] and (host in names or host in fixed),
              f"compose {name}: peers dial {advertised}, its own "
              f"{'service name' if '--advertise-raft' in args else 'fixed address'} and "
              f"--raft port ({own})")
        dialled[name] = advertised
    check(len(nodes) == 3, f"compose: three nodes ({', '.join(nodes)})")
    ids = [args.get("--node-id") for args in nodes.values()]
    check(None not in ids and len(set(ids)) == len(ids), f"compose: distinct --node-id {ids}")
    starters = [n for n, args in nodes.items() if "--join" not in args]
    check(len(starters) == 1, f"compose: exactly one node starts the cluster ({starters})")
    for name, args in nodes.items():
        if "--join" in args:
            check(args["--join"] in set(dialled.values()) - {dialled[name]},
                  f"compose {name}: --join {args['--join']} is another node's advertised "
                  "Raft address")


def main():
    deploy, scripts_out = Path(sys.argv[1]), Path(sys.argv[2])
    scripts_out.mkdir(parents=True, exist_ok=True)
    dockerfile(deploy / "Dockerfile")
    kubernetes(deploy / "kubernetes", scripts_out)
    compose(deploy / "docker-compose.yml", scripts_out)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Every `edgebase` flag the deployment files use must be one the binary accepts.

    python3 tests/deploy/flags.py EDGEBASE_BIN DEPLOY_DIR

Finds each `edgebase SUBCOMMAND ... --flag` in the Dockerfile (ENTRYPOINT and CMD), the
compose file (service commands and scripts), the Kubernetes manifests (container commands
and ConfigMap scripts), the systemd unit and the README, and checks each flag against that
subcommand's `--help`. A flag kept in a shell variable (`JOIN_FLAG="--join ..."`,
`join=(--join ...)`) counts for the command that expands the variable. Backquoted flags in
the README's prose must exist on some subcommand. Prints what it checked; exits 1 on any
unknown flag, or when a file that must start a node yields no `serve` command at all.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml
from dockerfile_parse import DockerfileParser

FLAG = re.compile(r"^--[a-z0-9][a-z0-9-]*")
HELP_FLAG = re.compile(r"^\s+(?:-\w, )?(--[a-z0-9][a-z0-9-]*)", re.MULTILINE)
ASSIGNMENT = re.compile(r"\b([A-Za-z_]\w*)=(?:\(([^)]*)\)|\"([^\"]*)\")")
EXPANSION = re.compile(r"\$\{?([A-Za-z_]\w*)")


class Cli:
    """What the binary accepts, read from its --help pages (cached)."""

    def __init__(self, binary):
        self.binary = binary
        self.pages = {}

    def help(self, path):
        if path not in self.pages:
            run = subprocess.run([self.binary, *path, "--help"], capture_output=True,
                                 text=True, timeout=30, check=False)
            if run.returncode != 0:
                raise SystemExit(f"`edgebase {' '.join(path)} --help` failed: {run.stderr}")
            self.pages[path] = run.stdout
        return self.pages[path]

    def subcommands(self, path):
        page = self.help(path)
        if "Commands:" not in page:
            return set()
        block = page.split("Commands:", 1)[1].split("\n\n", 1)[0]
        return {line.split()[0] for line in block.splitlines() if line.strip()} - {"help"}

    def resolve(self, words):
        """The subcommand path that `words` (what follows `edgebase`) names."""
        path = ()
        for word in words:
            if word not in self.subcommands(path):
                break
            path += (word,)
        return path

    def flags(self, path):
        return set(HELP_FLAG.findall(self.help(path)))

    def all_flags(self):
        found, todo = set(), [()]
        while todo:
            path = todo.pop()
            found |= self.flags(path)
            todo += [path + (sub,) for sub in self.subcommands(path)]
        return found


def logical_lines(text):
    """Lines with backslash continuations joined, so a wrapped command is one line."""
    return re.sub(r"\\\n", " ", text).splitlines()


def words_of(line):
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # commands in comments count: they are instructions to readers
    try:
        return list(lexer)
    except ValueError:  # prose with an odd quote: plain words are good enough
        return line.split()


def variables(text):
    """Flags held in shell variables: NAME=(--a b) or NAME="--a b", comments included (the
    systemd unit documents its environment file there)."""
    found = {}
    for name, array, string in ASSIGNMENT.findall(text):
        flags = [w for w in words_of(array or string) if FLAG.match(w)]
        if flags:
            found.setdefault(name, []).extend(flags)
    return found


def is_binary(word):
    return word == "edgebase" or word.endswith("/bin/edgebase")


def commands_in(text, cli):
    """(subcommand path, flags, line) for each edgebase invocation in shell-like text: the
    word `edgebase` (or a path ending in /bin/edgebase) followed by one of its subcommands,
    up to a shell operator or the end of a Markdown code span. Quoted words are searched
    too (`sh -c 'edgebase ...'`)."""
    held = variables(text)
    top = cli.subcommands(())

    def scan(line):
        tokens = words_of(line)
        for start, token in enumerate(tokens):
            if " " in token:
                yield from scan(token)
            following = tokens[start + 1:start + 2]
            if not is_binary(token.strip("`")) or not following:
                continue
            if following[0].strip("`,.;:)") not in top:
                continue  # a name (`-t edgebase`, a user, a pod), not a command
            words = []
            for word in tokens[start + 1:]:
                if word in {";", "&&", "||", "|", "&", "(", ")"}:
                    break
                body = word.lstrip("`")
                words.append(body.split("`")[0].rstrip(",.;:)"))
                if "`" in body:  # the code span ends here
                    break
            path = cli.resolve(words)
            rest = words[len(path):]
            flags = [FLAG.match(w).group(0) for w in rest if FLAG.match(w)]
            for word in rest:
                for name in EXPANSION.findall(word):
                    flags += held.get(name, [])
            yield path, flags, line.strip()

    for line in logical_lines(text):
        yield from scan(line)


def dockerfile_commands(path, cli):
    parser = DockerfileParser(path=str(path))
    entry, cmd = [], []
    for instruction in parser.structure:
        value = instruction["value"]
        if instruction["instruction"] == "FROM":
            entry, cmd = [], []  # each stage starts afresh; the last one is the image
        elif instruction["instruction"] in ("ENTRYPOINT", "CMD"):
            words = yaml.safe_load(value) if value.lstrip().startswith("[") else words_of(value)
            if instruction["instruction"] == "ENTRYPOINT":
                entry = words
            else:
                cmd = words
    yield from commands_in(shlex.join(entry + cmd), cli)
    yield from commands_in(path.read_text(), cli)


def compose_commands(path, cli):
    document = yaml.safe_load(path.read_text())
    for service in document["services"].values():
        command = service.get("command", [])
        command = command if isinstance(command, list) else words_of(command)
        if "entrypoint" in service:  # a script of its own; `$$` is compose's escaped `$`
            yield from commands_in(" ".join(command).replace("$$", "$"), cli)
        else:  # the image's ENTRYPOINT is edgebase
            yield from commands_in(shlex.join(["edgebase", *map(str, command)]), cli)
    yield from commands_in(path.read_text(), cli)


def kubernetes_commands(path, cli):
    for document in yaml.safe_load_all(path.read_text()):
        if document.get("kind") == "ConfigMap":
            for script in document.get("data", {}).values():
                yield from commands_in(script, cli)
        pod = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            command, args = container.get("command"), container.get("args", [])
            words = (command + args) if command else ["edgebase", *args]
            yield from commands_in(shlex.join(map(str, words)), cli)
    # Comments: the structured walk above already covered the values.
    lines = path.read_text().splitlines()
    comments = "\n".join(line for line in lines if line.lstrip().startswith("#"))
    yield from commands_in(comments, cli)


def readme_prose_flags(path):
    """Backquoted `--flag` mentions outside code blocks."""
    prose = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    return {m.group(1) for m in re.finditer(r"`(--[a-z0-9][a-z0-9-]*)", prose)}


def text_commands(path, cli):
    return commands_in(path.read_text(), cli)


def main():
    cli, deploy = Cli(sys.argv[1]), Path(sys.argv[2])
    global_flags = cli.flags(())
    # (file, how to find its commands, whether it must start a node itself)
    sources = [(deploy / "Dockerfile", dockerfile_commands, True),
               (deploy / "docker-compose.yml", compose_commands, True),
               (deploy / "edgebase.service", text_commands, True),
               (deploy / "README.md", text_commands, False)]
    manifests = sorted((deploy / "kubernetes").glob("*.yaml"))
    sources += [(path, kubernetes_commands, False) for path in manifests]
    errors, serving = [], set()
    for path, extract, _ in sources:
        checked = {}
        for command, flags, line in extract(path, cli):
            known = cli.flags(command) | global_flags
            name = " ".join(("edgebase",) + command)
            for flag in flags:
                if flag in known:
                    checked.setdefault(name, set()).add(flag)
                else:
                    errors.append(f"{path.name}: `{name}` has no flag {flag}: {line[:120]}")
            if command == ("serve",) and flags:
                serving.add(path.name if path not in manifests else "kubernetes/")
        for name, flags in sorted(checked.items()):
            print(f"  {path.name}: {name} {' '.join(sorted(flags))}")
    every_flag = cli.all_flags()
    prose = readme_prose_flags(deploy / "README.md")
    print(f"  README.md prose: {' '.join(sorted(prose & every_flag))}")
    for flag in sorted(prose - every_flag):
        errors.append(f"README.md: `{flag}` is no flag of any edgebase command")
    wanted = {path.name for path, _, must_serve in sources if must_serve} | {"kubernetes/"}
    for name in sorted(wanted - serving):
        errors.append(f"{name}: no `edgebase serve` command with flags found (nothing checked)")
    for error in errors:
        print(f"FAIL {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

"""Cold initialisation of each function, in fresh interpreters, as a ratio to `import boto3; client("dynamodb")`.

Each sample is a new Python process that sets Lambda's environment (tracing on, the function's own variables from
the synthesized template) and times the import of the function's handler module, which is what Lambda's init
phase runs. One untimed run first writes the bytecode caches, as the Lambda runtime has them for boto3.
Goal: ratio ≤ 1.3. Medians of BENCH_RUNS samples (default 7; quote figures of 5 or more).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL_ADDRESS = "http://127.0.0.1:8000"
RUNS = max(1, int(os.environ.get("BENCH_RUNS", "7")))  # 5 or more for figures worth quoting; 1 for a smoke run

BASELINE = """
import time; t = time.perf_counter()
import boto3; boto3.client("dynamodb")
print((time.perf_counter() - t) * 1000)
"""

FUNCTION = """
import importlib, time; t = time.perf_counter()
module = importlib.import_module({module!r})
init = (time.perf_counter() - t) * 1000
from shared.adapters import aws
for service in {clients!r}:
    getattr(aws, service)()
print(init, (time.perf_counter() - t) * 1000)
"""

# The clients each function builds on its first request (lazily, after init).
CLIENTS = {"intake": ["dynamodb"], "event_relay": ["events"]}


def lambda_environment(function_env: dict[str, str], name: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
            "AWS_REGION": "eu-west-2",
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": "bench",
            "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(function_env)
    return env


def sample(code: str, env: dict[str, str]) -> list[float]:
    output = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [float(value) for value in output.split()]


def function_environments() -> dict[str, tuple[str, dict[str, str]]]:
    """name → (handler module, environment), read from a light synth of the app."""
    from infra.local.__main__ import BUILD, template_path
    from infra.local.provision import local_functions
    from infra.local.template import Template

    template = Template.load(template_path(BUILD / "cdk.out"))  # make run's light synth, cached
    for logical_id, resource in template.body["Resources"].items():
        if resource["Type"] == "AWS::ApiGatewayV2::Api":  # an address only `make run` knows: any will do here
            template.attributes[logical_id] = {"Ref": logical_id, "ApiId": logical_id, "ApiEndpoint": LOCAL_ADDRESS}
        if resource["Type"] == "AWS::SecretsManager::Secret":  # a value only provisioning makes: any will do here
            arn = f"arn:aws:secretsmanager:eu-west-2:000000000000:secret:{logical_id}"
            template.attributes[logical_id] = {"Ref": arn, "Id": arn}
            template.secret_values[arn] = "bench"
    found = {}
    for function in local_functions(template).values():
        module = function.handler.rsplit(".", 1)[0]
        found[module.split(".")[1]] = (module, function.environment)
    return found


def main() -> None:
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    functions = function_environments()
    base_env = lambda_environment({}, "baseline")
    sample(BASELINE, base_env)  # warm the bytecode caches
    baseline = statistics.median(sample(BASELINE, base_env)[0] for _ in range(RUNS))
    print(f"cold_init: medians of {RUNS} fresh interpreters, Python {sys.version.split()[0]}, tracing on")
    print(f"  baseline  import boto3; boto3.client('dynamodb')   {baseline:7.1f} ms")
    for name, (module, env) in sorted(functions.items()):
        code = FUNCTION.format(module=module, clients=CLIENTS.get(name, []))
        sample(code, lambda_environment(env, name))
        samples = [sample(code, lambda_environment(env, name)) for _ in range(RUNS)]
        init = statistics.median(s[0] for s in samples)
        ready = statistics.median(s[1] for s in samples)
        verdict = "ok" if init / baseline <= 1.3 else "OVER GOAL"
        print(
            f"  {name:<10} init {init:7.1f} ms  ratio {init / baseline:4.2f} (goal <= 1.30: {verdict})"
            f"   init + first clients {ready:7.1f} ms  ratio {ready / baseline:4.2f}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""The official OpenAI Python client against Modelplane's gateway: non-streaming, streaming with usage, an error.
Usage: openai_client_check.py <base_url> <api_key>; prints one JSON line of results."""
import json
import sys

import openai

base_url, api_key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
results = {}

answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello from python"}])
results["text"] = answer.choices[0].message.content
results["usage"] = answer.usage.model_dump()
results["model"] = answer.model

raw = client.chat.completions.with_raw_response.create(model="cheap", messages=[{"role": "user", "content": "route me"}])
results["routed_by"] = raw.headers.get("x-modelplane-strategy")

stream = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[{"role": "user", "content": "stream from python"}],
    stream=True,
    stream_options={"include_usage": True},
)
text, usage = "", None
for chunk in stream:
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    if chunk.usage:
        usage = chunk.usage.model_dump()
results["stream_text"] = text
results["stream_usage"] = usage

try:
    client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
except openai.NotFoundError as error:
    results["not_found"] = {"status": error.status_code, "message": error.message}

print(json.dumps(results))

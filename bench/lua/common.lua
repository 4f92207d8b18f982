-- Shared by the wrk scripts: per-thread ids, status counting, and a JSON summary on stdout.
-- wrk runs one Lua state per thread; the bench gives every thread exactly one connection
-- (-t N -c N), so each client issues its requests strictly in order, as Entra does.

local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

statuses = {}

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "threads": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "mean": %.1f, "max": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, #threads,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max, table.concat(parts, ", ")))
end

-- Splits "a b c" (wrk's trailing arguments) into mode, base path, and the rest.
function common_init(args)
  mode = args[1]            -- "scim" or "ceiling"
  base = args[2]            -- "/webhooks/ad/v1/scim" or "/bench/ceiling/<company id>"
  run = args[3]             -- a string unique to this run, so userNames never repeat
  nthreads = tonumber(args[4])
  local token = os.getenv("QA_BENCH_TOKEN") or ""
  headers = {
    ["Host"] = "127.0.0.1",
    ["Content-Type"] = "application/scim+json",
    ["Accept"] = "application/scim+json",
    ["Authorization"] = "Bearer " .. token,
  }
end

function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

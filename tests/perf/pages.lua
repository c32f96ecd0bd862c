-- wrk script of the page benches (tests/perf/load.py): signed-in GETs over a list of paths.
-- Arguments after `--`: a file of Cookie headers (one per line: each is one signed-in
-- session, used in turn), a file of paths (one per line, repeated for weight, used in turn),
-- and a text every answer must contain. A page that answers anything but 200 with that text
-- (a redirect to the login, an error page) is counted as bad: a bench of the wrong page fails.

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

local function read_lines(path)
  local out = {}
  if path == nil or path == "" then return out end
  for line in io.lines(path) do
    if line ~= "" then table.insert(out, line) end
  end
  return out
end

function init(args)
  cookies = read_lines(args[1])
  paths = read_lines(args[2])
  expect = args[3]
  if expect == "" then expect = nil end
  sent = thread_no
  bad = 0
  sample = ""
end

function request()
  sent = sent + 1
  local headers = {}
  if #cookies > 0 then headers["Cookie"] = cookies[sent % #cookies + 1] end
  return wrk.format("GET", paths[sent % #paths + 1], headers)
end

function response(status, headers, body)
  if status ~= 200 or (expect and not string.find(body or "", expect, 1, true)) then
    bad = bad + 1
    if sample == "" then
      sample = tostring(status) .. " " .. string.gsub(string.sub(body or "", 1, 300), "%s+", " ")
    end
  end
end

function done(summary, latency, requests)
  local total_bad, first_sample = 0, ""
  for _, thread in ipairs(threads) do
    total_bad = total_bad + thread:get("bad")
    local s = thread:get("sample")
    if first_sample == "" and s ~= nil then first_sample = s end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d,'
    .. ' "write": %d, "status": %d, "timeout": %d, "bad": %d, "p50_us": %d, "p95_us": %d,'
    .. ' "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, total_bad, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max))
  io.write("WRK_SAMPLE " .. first_sample .. "\n")
end

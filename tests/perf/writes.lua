-- wrk script of the R8 soak (tests/perf/test_soak.py): paced writes as signed-in people, the
-- generator being wrk (C) rather than Python, so it is never the bottleneck.
-- Run with one connection per thread (-tN -cN): a thread's responses then come back in the
-- order of its requests, so it knows which write each answer belongs to and can keep the
-- deals' versions. Arguments after `--`: the items file (one deal per line, tab-separated:
-- cookie, CSRF token, workspace number, deal id, open stage ids joined by ",", index of the
-- deal's stage, version), the time between two writes of one thread (ms), and the mix of
-- operations ("m" move, "e" edit, "n" note; repeated for weight).

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } odex_timespec;
int clock_gettime(int clk_id, odex_timespec *tp);
]]
local clock = ffi.new("odex_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  interval = tonumber(args[2])
  mix = args[3]
  items = {}
  local count = tonumber(args[4])
  local line_no = 0
  for line in io.lines(args[1]) do
    if line_no % count == thread_no then
      local cookie, csrf, space, deal, stages, at, version =
        line:match("^(.-)\t(.-)\t(.-)\t(.-)\t(.-)\t(.-)\t(.-)$")
      local ids = {}
      for id in stages:gmatch("[^,]+") do table.insert(ids, id) end
      table.insert(items, {
        cookie = cookie, csrf = csrf, space = space, deal = deal, stages = ids,
        at = tonumber(at), version = tonumber(version),
      })
    end
    line_no = line_no + 1
  end
  math.randomseed(thread_no + 1)
  sent, pending, due = 0, nil, nil
  done_ops = {m = 0, e = 0, n = 0}
  pushes = {}  -- workspace number -> board messages its sockets must get
  bad, sample = 0, ""
end

-- wrk asks delay() before every request, the first one too: the first write goes at once, the
-- next ones every `interval` after it, so a run of D seconds asks exactly D / interval writes
-- a connection (waiting an interval first asked one fewer: 119 in 60 s at 500 ms, a ceiling
-- of 198.3/s for 200/s asked, whatever the server).
function delay()
  local now = now_ms()
  if due == nil then
    due = now
    return 0
  end
  due = due + interval
  return math.max(0, due - now)  -- late: send at once (the shortfall shows in the rate)
end

local function form(fields)
  local parts = {}
  for _, kv in ipairs(fields) do
    table.insert(parts, kv[1] .. "=" .. kv[2]:gsub("[^%w%-_.]", function(c)
      return string.format("%%%02X", string.byte(c))
    end))
  end
  return table.concat(parts, "&")
end

function request()
  sent = sent + 1
  local item = items[(sent - 1) % #items + 1]
  local pick = math.random(#mix)
  local op = mix:sub(pick, pick)
  local headers = {
    ["Cookie"] = item.cookie,
    ["X-CSRF-Token"] = item.csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  local path, body
  if op == "m" then
    local target = item.at % #item.stages + 1
    headers["HX-Request"] = "true"
    path = "/deals/" .. item.deal .. "/move"
    body = form({{"stage_id", item.stages[target]}, {"version", tostring(item.version)}})
    pending = {item = item, op = op, target = target}
  elseif op == "e" then
    path = "/deals/" .. item.deal
    body = form({
      {"title", "Soak edit " .. sent}, {"amount", tostring(1000 + sent % 5000)},
      {"currency", "EUR"}, {"stage_id", item.stages[item.at]},
      {"version", tostring(item.version)},
    })
    pending = {item = item, op = op}
  else
    path = "/records/deal/" .. item.deal .. "/notes"
    body = form({{"body", "Soak note " .. sent .. ": called, left a message"}})
    pending = {item = item, op = op}
  end
  return wrk.format("POST", path, headers, body)
end

local function header(headers, name)
  return headers[name] or headers[name:lower()]
end

function response(status, headers, body)
  local p = pending
  pending = nil
  if p == nil then return end
  local ok
  if p.op == "m" then  -- applied: no refusal, no redirect, the card came back
    ok = status == 200 and header(headers, "X-Odex-Move") == nil
      and header(headers, "HX-Redirect") == nil
      and string.find(body or "", 'data-deal-id="' .. p.item.deal .. '"', 1, true) ~= nil
  else
    ok = status == 303 and header(headers, "Location") == "/deals/" .. p.item.deal
  end
  if not ok then
    bad = bad + 1
    if sample == "" then
      sample = p.op .. " " .. p.item.deal .. ": " .. tostring(status) .. " "
        .. (header(headers, "Location") or "") .. " "
        .. string.gsub(string.sub(body or "", 1, 200), "%s+", " ")
    end
    return
  end
  done_ops[p.op] = done_ops[p.op] + 1
  if p.op ~= "n" then  -- moves and edits push to the workspace's board; notes don't
    p.item.version = p.item.version + 1
    pushes[p.item.space] = (pushes[p.item.space] or 0) + 1
  end
  if p.op == "m" then p.item.at = p.target end
end

function done(summary, latency, requests)
  local ops, spaces, total_bad, first = {m = 0, e = 0, n = 0}, {}, 0, ""
  for _, thread in ipairs(threads) do
    for op, n in pairs(thread:get("done_ops")) do ops[op] = ops[op] + n end
    for space, n in pairs(thread:get("pushes")) do spaces[space] = (spaces[space] or 0) + n end
    total_bad = total_bad + thread:get("bad")
    local s = thread:get("sample")
    if first == "" and s ~= nil then first = s end
  end
  local parts = {}
  for space, n in pairs(spaces) do table.insert(parts, '"' .. space .. '": ' .. n) end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "errors": %d, "bad": %d, "moves": %d,'
    .. ' "edits": %d, "notes": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, "pushes": {%s}}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    total_bad, ops.m, ops.e, ops.n, latency:percentile(50), latency:percentile(99),
    latency.max, table.concat(parts, ", ")))
  io.write("WRK_SAMPLE " .. first .. "\n")
end

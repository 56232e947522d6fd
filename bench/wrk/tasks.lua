-- wrk script for bench/api_bench.py: Ark task create (POST) or get (GET cycling over known ids).
--
-- Environment (set by api_bench.py):
--   BENCH_OP    "create" or "get"
--   BENCH_KEY   API key sent as `Authorization: Bearer ...` (the bare app ignores it)
--   BENCH_IDS   get only: a file with one task id per line
--
-- At the end it prints one machine-readable line, `BENCH-RESULT requests=... duration_us=... p99_us=...`,
-- so the bench never has to parse wrk's rounded, unit-suffixed text, and up to 5 `BENCH-BAD <status> <body>`
-- lines with the bodies of non-2xx answers (which wrk itself only counts).

local prefix = "/api/v3/contents/generations/tasks"
local op = os.getenv("BENCH_OP") or "create"

wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_KEY") or "sk-bench")
if op == "create" then
   -- A static request: wrk builds it once, which keeps the client's cost per request minimal.
   wrk.method = "POST"
   wrk.path = prefix
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = '{"model":"doubao-seedance-1-0-pro-250528","content":[{"type":"text",'
      .. '"text":"a cat yawns in the sun, cinematic"}],"resolution":"720p","duration":5}'
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

-- Globals (not locals) so that done() can read them from each thread with thread:get().
bad_count = 0
bad_samples = {}
get_requests = {}
next_request = 1

function init(args)
   if op == "get" then
      -- One request string per id, built up front so request() only picks one.
      for id in io.lines(os.getenv("BENCH_IDS")) do
         if id ~= "" then table.insert(get_requests, wrk.format("GET", prefix .. "/" .. id)) end
      end
   end
end

if op == "get" then
   function request()
      local r = get_requests[next_request]
      next_request = next_request % #get_requests + 1
      return r
   end
end

function response(status, headers, body)
   if status >= 300 then
      bad_count = bad_count + 1
      if #bad_samples < 5 then
         table.insert(bad_samples, status .. " " .. string.gsub(body or "", "[\r\n]+", " "))
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH-RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d mean_us=%.1f "
         .. "non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
      latency.mean, e.status, e.connect, e.read, e.write, e.timeout))
   local shown = 0
   for _, thread in ipairs(threads) do
      for _, sample in ipairs(thread:get("bad_samples") or {}) do
         if shown < 5 then
            io.write("BENCH-BAD " .. sample .. "\n")
            shown = shown + 1
         end
      end
   end
end

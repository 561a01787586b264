-- wrk script for the platform's benchmarks (bench/run.py passes the arguments).
--   wrk -t1 -c8 -d10s -s bench/lua/session.lua URL -- MODE LINES_FILE CSRF [ETAG]
-- MODE: get      GET the URL with the next session cookie from LINES_FILE ("-": none)
--       page     POST a page of answers (page p0 of the bench form; one answer changes
--                on every request, so every save writes)
--       submit   POST "check your answers" once per session, in order (each session
--                is a patient who has answered every page)
--       etag     GET the URL with one session and If-None-Match: ETAG
--       pk       GET /bench/pk/<id>/ with ids from LINES_FILE
-- One wrk thread (-t1) is used, so the sessions of "submit" are each used once.
local mode, csrf, etag, path
local lines = {}
local index = 0
local counter = 0

function init(args)
  mode = args[1]
  csrf = args[3] or ""
  etag = args[4]
  path = wrk.path
  if args[2] and args[2] ~= "-" then
    for line in io.lines(args[2]) do
      if #line > 0 then lines[#lines + 1] = line end
    end
  end
end

local function next_line()
  index = index + 1
  if index > #lines then index = 1 end
  return lines[index]
end

local function cookie(session)
  return "sessionid=" .. session .. "; csrftoken=" .. csrf
end

request = function()
  if mode == "get" and #lines == 0 then
    return wrk.format("GET", path)
  elseif mode == "get" then
    return wrk.format("GET", path, { Cookie = cookie(next_line()) })
  elseif mode == "page" then
    counter = counter + 1
    local body = "answer_wizard-current_step=p0&p0-p0age=42&p0-p0name=Sam" .. counter
      .. "&p0-p0health=good&p0-p0smoker=no&p0-p0notes=Nothing+else"
      .. "&csrfmiddlewaretoken=" .. csrf
    return wrk.format("POST", path, {
      Cookie = cookie(next_line()),
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, body)
  elseif mode == "submit" then
    return wrk.format("POST", path, {
      Cookie = cookie(next_line()),
      ["Content-Type"] = "application/x-www-form-urlencoded",
    }, "csrfmiddlewaretoken=" .. csrf)
  elseif mode == "etag" then
    return wrk.format("GET", path, { Cookie = cookie(lines[1]), ["If-None-Match"] = etag })
  elseif mode == "pk" then
    return wrk.format("GET", "/bench/pk/" .. next_line() .. "/")
  end
  return wrk.format("GET", path)
end

done = function(summary, latency, requests)
  -- One machine-readable line for bench/run.py.
  io.write(string.format(
    "BENCH {\"requests\":%d,\"duration_us\":%d,\"errors_status\":%d,\"errors_connect\":%d,"
    .. "\"errors_timeout\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"mean_ms\":%.3f}\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.mean / 1000))
end

-- wrk script for the relayer benchmark's acceptance phase (bench/relayer/run.py runs `wrk -t1 -s accept.lua`).
-- Posts each pre-signed body of the file given after `--` exactly once, in order, to the URL's path, and counts the
-- answers by status. One wrk thread (a second would need its own share of the bodies). A connection that frees up
-- after the last body was sent asks `GET /health` every 100 ms meanwhile (answered 200, which no relay request
-- is: never counted); the thread stops once every body is answered, or 5 s after the last answer when one never
-- comes. It prints `answered` when the last answer arrives (or `gave up`): the caller times that line and ends wrk
-- with SIGINT (wrk's main thread sleeps for the whole -d otherwise); then one JSON line.
-- wrk calls request() once before the run to check what it returns (script_verify_request): that call gets the
-- first body without counting it as sent.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   bodies = {}
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      bodies[#bodies + 1] = line
   end
   file:close()
   sent, accepted, refused, extra, answered = 0, 0, 0, 0, 0
   verified = false
   statuses = ""
   last_answer = os.time()
   post_headers = { ["Content-Type"] = "application/json" }
   io.write("started\n")
   io.flush()
end

function request()
   if not verified then
      verified = true
      return wrk.format("POST", nil, post_headers, bodies[1])
   end
   if sent < #bodies then
      sent = sent + 1
      return wrk.format("POST", nil, post_headers, bodies[sent])
   end
   extra = extra + 1
   return wrk.format("GET", "/health")
end

function delay()
   if sent < #bodies then
      return 0
   end
   return 100
end

function response(status, headers, body)
   if status == 200 then -- an extra GET /health
      if os.time() - last_answer >= 5 then
         io.write("gave up\n")
         io.flush()
         wrk.thread:stop()
      end
      return
   end
   answered = answered + 1
   last_answer = os.time()
   if status == 202 then
      accepted = accepted + 1
   else
      refused = refused + 1
      if #statuses < 200 then
         statuses = statuses .. status .. " "
      end
   end
   if answered == #bodies then
      io.write("answered\n")
      io.flush()
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local t = threads[1]
   io.write(string.format(
      '{"sent": %d, "answered": %d, "accepted": %d, "refused": %d, "extra": %d, "duration_us": %d, ' ..
      '"socket_errors": %d, "refused_statuses": "%s", "latency_p50_us": %d, "latency_p99_us": %d}\n',
      t:get("sent"), t:get("answered"), t:get("accepted"), t:get("refused"), t:get("extra"), summary.duration,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      t:get("statuses"), latency:percentile(50), latency:percentile(99)))
end

-- Fixed-rate load for wrk (Debian's `wrk`), shared by the scenarios in this folder.
--
-- wrk itself is closed-loop: each connection sends as soon as the previous answer came.
-- Here every request takes the next slot of a Poisson schedule at RATE requests a second
-- (exponential gaps), so the offered rate does not depend on how fast the server answers,
-- as long as CONNECTIONS cover the requests in flight. Latency is measured here, from the
-- moment a request is written to its answer (matched by the X-Request-ID the service
-- echoes); requests sent during the first WARMUP seconds are left out, and with them
-- the burst of one request per connection that wrk fires when it first connects.
--
-- A scenario defines `scenario_request(headers)`, which adds its own headers to the
-- table it is given (X-Request-ID, and Connection: close every BENCH_RECONNECT_EVERY-th
-- request) and returns wrk.format(...); then it requires this file. Arguments after
-- `--`: RATE WARMUP.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } paced_timespec;
int clock_gettime(int clock_id, paced_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("paced_timespec")

local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
    return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_number", #threads)
end

local rate_per_ms, measure_from, next_slot
local sent, sent_at = 0, {}
-- ok_latencies: of the 2xx answers alone (an overloaded server's quick 503s aside).
latencies, ok_latencies, statuses = {}, {}, {}

function init(args)
    -- The runner uses one wrk thread (`-t1`): RATE is that thread's.
    rate_per_ms = tonumber(args[1]) / 1000
    measure_from = now_ms() + tonumber(args[2]) * 1000
    next_slot = now_ms()
    math.randomseed(thread_number * 7919 + os.time())
end

function delay()
    next_slot = next_slot - math.log(1 - math.random()) / rate_per_ms
    local wait = next_slot - now_ms()
    if wait > 0 then
        return math.floor(wait + 0.5)
    end
    return 0
end

-- Every RECONNECT_EVERY-th request asks the server to close its connection (0: never).
local reconnect_every = tonumber(os.getenv("BENCH_RECONNECT_EVERY") or "0")

function request()
    sent = sent + 1
    local request_id = "bench-" .. thread_number .. "-" .. sent
    sent_at[request_id] = now_ms()
    local headers = { ["X-Request-ID"] = request_id }
    if reconnect_every > 0 and sent % reconnect_every == 0 then
        headers["Connection"] = "close"
    end
    return scenario_request(headers)
end

function response(status, headers, body)
    -- Header names as the server wrote them: gunicorn keeps the case, uvicorn lowers it.
    local request_id = headers["X-Request-ID"] or headers["x-request-id"]
    local started = request_id and sent_at[request_id]
    if not started then
        return
    end
    sent_at[request_id] = nil
    -- The first request of each connection went out with the connect burst.
    if started < measure_from then
        return
    end
    latencies[#latencies + 1] = now_ms() - started
    if status >= 200 and status < 300 then
        ok_latencies[#ok_latencies + 1] = latencies[#latencies]
    end
    statuses[tostring(status)] = (statuses[tostring(status)] or 0) + 1
end

function done(summary, latency, requests)
    local all, ok, by_status = {}, {}, {}
    for _, thread in ipairs(threads) do
        for _, value in ipairs(thread:get("latencies")) do
            all[#all + 1] = value
        end
        for _, value in ipairs(thread:get("ok_latencies")) do
            ok[#ok + 1] = value
        end
        for status, count in pairs(thread:get("statuses")) do
            by_status[status] = (by_status[status] or 0) + count
        end
    end
    table.sort(all)
    table.sort(ok)
    local function percentile(p, values)
        values = values or all
        if #values == 0 then
            return -1
        end
        return values[math.max(1, math.ceil(#values * p / 100))]
    end
    local parts = {}
    for status, count in pairs(by_status) do
        parts[#parts + 1] = string.format('"%s":%d', status, count)
    end
    local errors = summary.errors
    io.write(string.format(
        'BENCH_RESULT {"count":%d,"elapsed_s":%.3f,"p50":%.3f,"p90":%.3f,"p99":%.3f,"max":%.3f,'
            .. '"ok_p50":%.3f,"ok_p99":%.3f,"statuses":{%s},"socket_errors":%d,"timeouts":%d}\n',
        #all,
        summary.duration / 1e6,
        percentile(50),
        percentile(90),
        percentile(99),
        percentile(100),
        percentile(50, ok),
        percentile(99, ok),
        table.concat(parts, ","),
        errors.connect + errors.read + errors.write,
        errors.timeout
    ))
end

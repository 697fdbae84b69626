-- GET /api/v1/inbox/ as one of the fixture's readers, a different one each request.
local fixture = dofile(os.getenv("BENCH_FIXTURE_LUA"))
local turn = 0
-- BENCH_PATH: another view answering the same auth (the floor of bench/floor_urls.py).
local path = os.getenv("BENCH_PATH") or "/api/v1/inbox/"

function scenario_request(headers)
    turn = turn + 1
    local token = fixture.tokens[(turn % #fixture.tokens) + 1]
    headers["Authorization"] = "Token " .. token
    return wrk.format("GET", path, headers)
end

package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
require("paced")

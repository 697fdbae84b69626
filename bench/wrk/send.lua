-- POST /api/v1/notifications/ (or /bulk/ with BENCH_BULK_ITEMS sends a request): each
-- send to three distinct random readers, in-app and email, with its own data.
local fixture = dofile(os.getenv("BENCH_FIXTURE_LUA"))
local bulk_items = tonumber(os.getenv("BENCH_BULK_ITEMS") or "0")
-- BENCH_PATH: another view answering the same auth (the floor of bench/floor_urls.py).
local path = os.getenv("BENCH_PATH")

local function three_recipients()
    local chosen, picked = {}, {}
    while #picked < 3 do
        local user_id = fixture.recipients[math.random(#fixture.recipients)]
        if not chosen[user_id] then
            chosen[user_id] = true
            picked[#picked + 1] = user_id
        end
    end
    return table.concat(picked, ",")
end

local function one_send()
    return string.format(
        '{"event_type":"%s","recipients":[%s],"channels":["in_app","email"],"data":{"n":%d},"priority":"normal"}',
        fixture.event_type,
        three_recipients(),
        math.random(1000000000)
    )
end

function scenario_request(headers)
    headers["Authorization"] = "Bearer " .. fixture.api_key
    headers["Content-Type"] = "application/json"
    if bulk_items == 0 then
        return wrk.format("POST", path or "/api/v1/notifications/", headers, one_send())
    end
    local items = {}
    for i = 1, bulk_items do
        items[i] = one_send()
    end
    return wrk.format("POST", path or "/api/v1/notifications/bulk/", headers, '{"notifications":[' .. table.concat(items, ",") .. "]}")
end

package.path = os.getenv("BENCH_WRK_DIR") .. "/?.lua;" .. package.path
require("paced")

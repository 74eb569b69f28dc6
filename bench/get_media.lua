-- wrk script: GET /api/v1/media/<id> for random ids in
-- [BENCH_ID_MIN, BENCH_ID_MAX], keep-alive, "Authorization: ApiKey <key>".
-- Used for ours (nginx module) and for the Fastify + pg reference alike.
local key = os.getenv("MEDIA_BENCH_KEY")
local lo = tonumber(os.getenv("BENCH_ID_MIN"))
local hi = tonumber(os.getenv("BENCH_ID_MAX"))
wrk.headers["Authorization"] = "ApiKey " .. key

local prefix = "/api/v1/media/"

init = function(args)
  math.randomseed(os.time())
end

request = function()
  return wrk.format("GET", prefix .. math.random(lo, hi))
end

done = dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./")
              .. "wrk_done.lua")

-- Entra's update (docs/entra-behaviour.md, Users, default dialect): PATCH /Users/{id} with capitalised Replace
-- operations on two attributes. Every client walks its own slice of the pre-created users,
-- listed one id per line in QA_BENCH_IDS. Args: mode base run nthreads.
package.path = (os.getenv("QA_BENCH_LUA_DIR") or "bench/lua") .. "/?.lua;" .. package.path
require("common")

local ids = {}
local i
local n = 0

function init(args)
  common_init(args)
  for line in io.lines(os.getenv("QA_BENCH_IDS")) do
    table.insert(ids, line)
  end
  i = tid
end

function request()
  n = n + 1
  local id = ids[i]
  i = i + nthreads
  if i > #ids then
    i = tid
  end
  local value = string.format("%s-%d-%d", run, tid, n)
  local body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[' ..
    '{"op":"Replace","path":"displayName","value":"Display ' .. value .. '"},' ..
    '{"op":"Replace","path":"name.familyName","value":"Family ' .. value .. '"}]}'
  return wrk.format("PATCH", base .. "/Users/" .. id, headers, body)
end

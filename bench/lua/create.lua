-- Entra's create cycle (docs/entra-behaviour.md, Users): GET /Users?filter=userName eq "<new>" then POST /Users,
-- one unique userName per cycle. Args: mode base run nthreads.
package.path = (os.getenv("QA_BENCH_LUA_DIR") or "bench/lua") .. "/?.lua;" .. package.path
require("common")

local n = 0
local phase = "get"
local user_name

function init(args)
  common_init(args)
end

local function post_body(name, external_id)
  return '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",' ..
    '"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],' ..
    '"externalId":"' .. external_id .. '","userName":"' .. name .. '","active":true,' ..
    '"emails":[{"primary":true,"type":"work","value":"' .. name .. '"}],' ..
    '"meta":{"resourceType":"User"},' ..
    '"name":{"formatted":"Given Family","familyName":"Family","givenName":"Given"},' ..
    '"roles":[]}'
end

function request()
  if phase == "get" then
    n = n + 1
    user_name = string.format("u-%s-%d-%d@contoso.example", run, tid, n)
    phase = "post"
    local path
    if mode == "scim" then
      path = base .. "/Users?filter=" .. urlencode('userName eq "' .. user_name .. '"')
    else
      path = base .. "/Users?userName=" .. urlencode(user_name)
    end
    return wrk.format("GET", path, headers)
  end
  phase = "get"
  local external_id = string.format("x-%s-%d-%d", run, tid, n)
  return wrk.format("POST", base .. "/Users", headers, post_body(user_name, external_id))
end

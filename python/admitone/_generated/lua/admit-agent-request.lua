-- Admits a chat and queues its request in one step (the gateway side of the bus).
-- KEYS[1] user:<user_id>:runs  KEYS[2] user:<user_id>:thread:<thread_id>:runs
-- KEYS[3] run:<run_id>  KEYS[4] agent:requests
-- ARGV[1] run key prefix ("<prefix>run:")  ARGV[2] retention seconds  ARGV[3] max runs per user
-- ARGV[4] max pending runs  ARGV[5] run_id  ARGV[6] user_id  ARGV[7] session_id
-- ARGV[8] thread_id  ARGV[9] created_at  ARGV[10] AgentRequest JSON
-- Returns 'accepted', 'too_many_runs' or 'busy'.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local retention = tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - retention)
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local status = redis.call('HGET', ARGV[1] .. id, 'status')
  if not status or status == 'completed' or status == 'failed' then
    redis.call('ZREM', KEYS[1], id)
  end
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'too_many_runs' end
if redis.call('XLEN', KEYS[4]) >= tonumber(ARGV[4]) then return 'busy' end
redis.call('HSET', KEYS[3], 'user_id', ARGV[6], 'session_id', ARGV[7], 'thread_id', ARGV[8],
  'status', 'queued', 'created_at', ARGV[9], 'last_event_id', 0)
redis.call('EXPIRE', KEYS[3], ARGV[2])
redis.call('XADD', KEYS[4], '*', 'request', ARGV[10])
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], retention)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - retention)
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('PEXPIRE', KEYS[2], retention)
return 'accepted'

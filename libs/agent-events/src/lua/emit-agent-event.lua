-- Emits one event of a run atomically (the agent side of the bus).
-- KEYS[1] run:<run_id>   KEYS[2] run:<run_id>:events
-- ARGV[1] event_id  ARGV[2] event JSON  ARGV[3] user:<user_id>:events channel
-- ARGV[4] BusEvent JSON  ARGV[5] retention seconds  ARGV[6] status (running|completed|failed)
-- Returns 1: emitted; 0: the run has ended; -n: skipped, n is the run's last event_id.
local state = redis.call('HMGET', KEYS[1], 'last_event_id', 'status')
if state[2] == 'completed' or state[2] == 'failed' then return 0 end
local last = tonumber(state[1] or '0') or 0
local id = tonumber(ARGV[1])
if id <= last then return -last end
redis.call('HSET', KEYS[1], 'last_event_id', id, 'status', ARGV[6])
redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return 1

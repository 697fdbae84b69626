SCENARIO_CREATED = "scenario.created"
SCENARIO_EXECUTED = "scenario.executed"
SCENARIO_DELETED = "scenario.deleted"

# key → name; created by migration so they exist after migrate, self-service (people
# subscribe themselves to a team's scenarios: migration 0004).
SCENARIO_EVENT_TYPES = {
    SCENARIO_CREATED: "Test scenario created",
    SCENARIO_EXECUTED: "Test scenario executed",
    SCENARIO_DELETED: "Test scenario deleted",
}

SCENARIO_CREATED = "scenario.created"
SCENARIO_EXECUTED = "scenario.executed"
SCENARIO_DELETED = "scenario.deleted"

# key → name; created by migration so they exist after migrate.
SCENARIO_EVENT_TYPES = {
    SCENARIO_CREATED: "Test scenario created",
    SCENARIO_EXECUTED: "Test scenario executed",
    SCENARIO_DELETED: "Test scenario deleted",
}

"""Customer service: tickets, SLAs on business calendars, assignment, knowledge base,
surveys and complaints (issue 8; plan in docs/service-plan.md)."""

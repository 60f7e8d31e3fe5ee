"""What the seeded tenant talks about: teams, stages, objection and competitor mixes, quotes."""

TEAMS = ("East", "West", "North", "South", "Central")
STAGES = ("discovery", "qualification", "demo", "proposal", "negotiation")
CATEGORIES = {
    "price": 30,
    "timing": 18,
    "authority": 14,
    "need": 12,
    "competition": 9,
    "trust": 6,
    "security": 5,
    "integration": 4,
    "contract": 2,
}
COMPETITORS = {
    "HubSpot": 30,
    "Salesforce": 25,
    "Gong": 15,
    "Pipedrive": 10,
    "Zoho": 8,
    "Chorus": 6,
    "Outreach": 4,
    "Clari": 2,
}
CONTEXTS = {"incumbent": 35, "evaluating": 25, "comparison": 20, "past": 10, "other": 10}
QUOTES = {
    "price": "Honestly the price is well above what we budgeted for this year.",
    "timing": "This is not a priority until next quarter, we are in a budget freeze.",
    "authority": "I will need sign-off from our CFO before we can commit to anything.",
    "need": "We are fairly happy with how we do it today, I am not sure we need this.",
    "competition": "We are already under contract with another vendor until the summer.",
    "trust": "You are a small vendor, we would need references from similar customers.",
    "security": "Our security team will want a SOC 2 report and an SSO review first.",
    "integration": "I do not see how this works with our current stack without a migration.",
    "contract": "A three-year term with those cancellation terms will not pass legal.",
}

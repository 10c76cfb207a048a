"""Village water committee finances: tariff plans, monthly demand, collections and receipts, arrears,
expenditure, O&M cost recovery and the community contribution."""

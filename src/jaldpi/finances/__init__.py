"""Village water committee finances: tariff plans, monthly demand, collections and receipts, arrears, expenditure, cost recovery, community contribution."""

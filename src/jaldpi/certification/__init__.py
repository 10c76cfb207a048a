"""Har Ghar Jal certification (reported -> Gram Sabha resolution and video -> certified) and Village Action Plans."""

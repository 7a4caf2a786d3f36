"""Who the customer is: accounts, passwords, SMS codes and e-mail links, signed tokens,
trusted devices, sessions and the limits on attempts."""

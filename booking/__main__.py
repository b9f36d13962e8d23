from booking.ops.cli import main

main()

from glc.cli import main

main()
